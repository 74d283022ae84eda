import { TestBed } from '@angular/core/testing';

import { LiveChart, tickStep } from './live-chart';
import { ForecastData, TariffData } from './models';
import { Sample } from './pvcontrol.service';

describe('LiveChart', () => {
  beforeEach(() => {
    // jsdom has no canvas: chart.js then draws nothing (and says so on the console)
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => vi.restoreAllMocks());

  async function render(samples: Sample[]) {
    const fixture = TestBed.createComponent(LiveChart);
    fixture.componentRef.setInput('samples', samples);
    await fixture.whenStable();
    return fixture.nativeElement.querySelector('canvas') as HTMLCanvasElement;
  }

  it('describes the chart in text for screen readers', async () => {
    const t0 = Date.UTC(2026, 5, 1, 12, 0, 0);
    const canvas = await render([
      { t: t0, pv: 1000, home: 500, car: 0 },
      { t: t0 + 10 * 60_000, pv: 3500, home: 650, car: 1400 },
    ]);
    expect(canvas.getAttribute('role')).toBe('img');
    expect(canvas.getAttribute('aria-label')).toBe(
      'Power chart of the last 10 min; now PV 3.5 kW, home 0.7 kW, car 1.4 kW',
    );
  });

  it('gives long spans in hours', async () => {
    const t0 = Date.UTC(2026, 5, 1, 12, 0, 0);
    const canvas = await render([
      { t: t0, pv: 0, home: 500, car: 0 },
      { t: t0 + 24 * 3_600_000, pv: 1000, home: 500, car: 0 },
    ]);
    expect(canvas.getAttribute('aria-label')).toMatch(
      /^Power chart of the last 24 h; now PV 1.0 kW/,
    );
  });

  it('says when there is no data yet', async () => {
    const canvas = await render([]);
    expect(canvas.getAttribute('aria-label')).toBe('Power chart of the last hour: no data yet');
  });

  it('puts the time ticks on whole minutes', () => {
    expect(tickStep(2 * 60_000)).toBe(60_000);
    expect(tickStep(9 * 60_000)).toBe(2 * 60_000);
    expect(tickStep(60 * 60_000)).toBe(15 * 60_000);
    expect(tickStep(24 * 60 * 60_000)).toBe(6 * 60 * 60_000);
  });
});

describe('LiveChart with a forecast', () => {
  beforeEach(() => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => vi.restoreAllMocks());

  const t0 = new Date(2026, 5, 21, 13, 0, 0).getTime(); // local time: the chart's day is the browser's
  const period = (startMs: number, w: number) => ({
    start: startMs / 1000,
    end: startMs / 1000 + 900,
    power_pv: w,
  });
  const tomorrow = new Date(2026, 5, 22, 13, 0, 0).getTime();
  const forecast: ForecastData = {
    ts: t0 / 1000,
    error: 0,
    source: 'ClearSky',
    periods: [
      period(t0, 4000),
      period(t0 + 900_000, 3000),
      period(t0 + 1_800_000, 0),
      period(tomorrow, 5000),
    ],
    sunrise: null,
    sunset: null,
    energy_today_remaining: 1750,
    energy_tomorrow: 40_000,
  };

  async function render(samples: Sample[], doc: ForecastData | null) {
    const fixture = TestBed.createComponent(LiveChart);
    fixture.componentRef.setInput('samples', samples);
    fixture.componentRef.setInput('forecast', doc);
    await fixture.whenStable();
    return fixture;
  }

  it('draws only today from the forecast, as steps in kW, behind the measured lines', async () => {
    const fixture = await render([{ t: t0, pv: 1000, home: 500, car: 0 }], forecast);
    const datasets = fixture.componentInstance['data']().datasets;
    const drawn = datasets.find((d) => d.label === 'PV forecast');
    expect(drawn?.data).toEqual([
      { x: t0, y: 4 },
      { x: t0 + 900_000, y: 4 },
      { x: t0 + 900_000, y: 3 },
      { x: t0 + 1_800_000, y: 3 },
      { x: t0 + 1_800_000, y: 0 },
      { x: t0 + 2_700_000, y: 0 },
    ]);
    expect(drawn?.order).toBeGreaterThan(datasets.find((d) => d.label === 'PV')?.order ?? 1);
  });

  it('runs the time axis on to the last sunny forecast period', async () => {
    const fixture = await render([{ t: t0, pv: 1000, home: 500, car: 0 }], forecast);
    expect(fixture.componentInstance['options']()?.scales?.['x']?.max).toBe(t0 + 1_800_000);
  });

  it('says the forecast energy in the text alternative', async () => {
    const fixture = await render([{ t: t0, pv: 1000, home: 500, car: 0 }], forecast);
    const canvas = fixture.nativeElement.querySelector('canvas') as HTMLCanvasElement;
    expect(canvas.getAttribute('aria-label')).toMatch(/; forecast for the rest of today 1\.8 kWh$/);
  });

  it('is the plain chart without a forecast', async () => {
    const fixture = await render([{ t: t0, pv: 1000, home: 500, car: 0 }], null);
    expect(fixture.componentInstance['data']().datasets.map((d) => d.label)).toEqual([
      'PV',
      'Home',
      'Car',
    ]);
  });
});

describe('LiveChart with prices', () => {
  beforeEach(() => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => vi.restoreAllMocks());

  const t0 = new Date(2026, 5, 21, 13, 0, 0).getTime();
  const endOfTomorrow = new Date(2026, 5, 23, 0, 0, 0).getTime();
  const tariff: TariffData = {
    ts: t0 / 1000,
    error: 0,
    source: 'Awattar',
    currency: 'EUR',
    periods: [
      { start: t0 / 1000, end: t0 / 1000 + 3600, grid_price: 0.31, feed_in: 0.08 },
      { start: t0 / 1000 + 3600, end: endOfTomorrow / 1000, grid_price: 0.22, feed_in: 0.08 },
    ],
  };

  async function render(doc: TariffData | null) {
    const fixture = TestBed.createComponent(LiveChart);
    fixture.componentRef.setInput('samples', [{ t: t0 + 60_000, pv: 1000, home: 500, car: 0 }]);
    fixture.componentRef.setInput('tariff', doc);
    await fixture.whenStable();
    return fixture;
  }

  it('draws the grid price as steps on its own axis up to the last known price', async () => {
    const fixture = await render(tariff);
    const drawn = fixture.componentInstance['data']().datasets.find(
      (d) => d.label === 'Grid price',
    );
    expect(drawn?.yAxisID).toBe('price');
    expect(drawn?.data).toEqual([
      { x: t0, y: 0.31 },
      { x: t0 + 3_600_000, y: 0.31 },
      { x: t0 + 3_600_000, y: 0.22 },
      { x: endOfTomorrow, y: 0.22 },
    ]);
    const scales = fixture.componentInstance['options']()?.scales;
    expect(scales?.['x']?.max).toBe(endOfTomorrow);
    expect(scales?.['price']?.display).toBe(true);
    expect(scales?.['price']?.position).toBe('right');
    const canvas = fixture.nativeElement.querySelector('canvas') as HTMLCanvasElement;
    expect(canvas.getAttribute('aria-label')).toMatch(/; grid price now 0\.310 €\/kWh$/);
  });

  it("gives the price at the tooltip's time, not the price step of the same index", async () => {
    const tooltip = (await render(tariff)).componentInstance['options']()?.plugins?.tooltip;
    const at = (x: number) => [{ parsed: { x } }] as never;
    const footer = tooltip?.callbacks?.footer as unknown as (items: unknown) => string;
    expect(footer(at(t0 + 2 * 3_600_000))).toBe('Grid price: 0.220 €/kWh');
    expect(footer(at(t0 - 60_000))).toBe(''); // before the known prices
    const filter = tooltip?.filter as unknown as (item: unknown) => boolean;
    expect(filter({ dataset: { yAxisID: 'price' } })).toBe(false);
    expect(filter({ dataset: { label: 'PV' } })).toBe(true);
  });

  it('has no price axis without a tariff', async () => {
    const fixture = await render(null);
    expect(fixture.componentInstance['data']().datasets.map((d) => d.label)).toEqual([
      'PV',
      'Home',
      'Car',
    ]);
    expect(fixture.componentInstance['options']()?.scales?.['price']?.display).toBe(false);
    expect(fixture.componentInstance['options']()?.scales?.['x']?.max).toBe(t0 + 60_000);
  });
});
