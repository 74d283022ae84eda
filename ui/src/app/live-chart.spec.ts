import { TestBed } from '@angular/core/testing';

import { LiveChart, tickStep } from './live-chart';
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
