import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import {
  ChartConfiguration,
  ChartData,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from 'chart.js';
import { BaseChartDirective, provideCharts } from 'ng2-charts';

import { ForecastData, TariffData } from './models';
import { Sample } from './pvcontrol.service';
import { currencySymbol, currentPriceText } from './tariff-view';

export const SERIES = [
  { key: 'pv', label: 'PV', color: '#f2a900' },
  { key: 'home', label: 'Home', color: '#3f8fe0' },
  { key: 'car', label: 'Car', color: '#2ea84f' },
] as const;

const MIN_SPAN_MS = 2 * 60 * 1000;
const FORECAST_COLOR = 'rgba(242, 169, 0, 0.45)';
const PRICE_COLOR = '#c2185b';

type Point = { x: number; y: number | null };

/** Today's forecast (browser day) as a step line, ms and kW; nothing without a forecast. */
export function forecastToday(
  forecast: ForecastData | null,
  now: number,
): { x: number; y: number }[] {
  if (!forecast) return [];
  const midnight = new Date(now);
  midnight.setHours(24, 0, 0, 0);
  return forecast.periods
    .filter((p) => p.start * 1000 < midnight.getTime())
    .flatMap((p) => [
      { x: p.start * 1000, y: p.power_pv / 1000 },
      { x: p.end * 1000, y: p.power_pv / 1000 },
    ]);
}

/** Where today's forecast ends: its last period with sun, so the chart does not run on into the night. */
function forecastEnd(points: { x: number; y: number }[]): number | null {
  const sunny = points.filter((p) => p.y > 0);
  return sunny.length ? sunny[sunny.length - 1].x : null;
}

/** The grid prices as a step line (ms, price per kWh), each period from its start to its end; a gap
 * between periods stays a gap. */
export function pricePoints(
  tariff: TariffData | null | undefined,
): { x: number; y: number | null }[] {
  const points: { x: number; y: number | null }[] = [];
  let lastEnd: number | null = null;
  for (const p of tariff?.periods ?? []) {
    if (lastEnd !== null && p.start > lastEnd) points.push({ x: lastEnd * 1000, y: null });
    points.push({ x: p.start * 1000, y: p.grid_price }, { x: p.end * 1000, y: p.grid_price });
    lastEnd = p.end;
  }
  return points;
}

/** Where the known prices end (ms), or null without any. */
export function pricesEnd(tariff: TariffData | null | undefined): number | null {
  const periods = tariff?.periods ?? [];
  return periods.length ? periods[periods.length - 1].end * 1000 : null;
}

function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Whole minutes between time ticks, at most about 5 ticks. */
export function tickStep(spanMs: number): number {
  const minutes =
    [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720].find((m) => spanMs / (m * 60_000) <= 5) ??
    720;
  return minutes * 60_000;
}

function kw(w: number): string {
  return `${(w / 1000).toFixed(1)} kW`;
}

/** Line chart of PV, home and car power: the gateway's last 24 h, then the events received; behind
 * them, dashed, the PV forecast for the rest of today; with a tariff, the grid price as steps on a
 * second axis up to the last known price (today's and tomorrow's). */
@Component({
  selector: 'pvc-live-chart',
  imports: [BaseChartDirective],
  // registered here, so that chart.js is loaded with this (deferred) component only
  providers: [
    provideCharts({
      registerables: [LineController, LineElement, PointElement, LinearScale, Legend, Tooltip],
    }),
  ],
  template: `
    <div class="wrap">
      <canvas
        baseChart
        type="line"
        [data]="data()"
        [options]="options()"
        role="img"
        [attr.aria-label]="summary()"
      ></canvas>
    </div>
  `,
  styles: `
    :host {
      display: block;
      min-height: 0;
    }
    .wrap {
      position: relative;
      height: 100%;
      width: 100%;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class LiveChart {
  readonly samples = input.required<readonly Sample[]>();
  readonly forecast = input<ForecastData | null>(null);
  readonly tariff = input<TariffData | null>(null);

  private readonly now = computed(() => {
    const samples = this.samples();
    return samples.length ? samples[samples.length - 1].t : Date.now();
  });
  private readonly forecastPoints = computed(() => forecastToday(this.forecast(), this.now()));
  private readonly pricePoints = computed(() => pricePoints(this.tariff()));
  private readonly priceUnit = computed(() => `${currencySymbol(this.tariff()?.currency)}/kWh`);

  protected readonly data = computed<ChartData<'line', Point[]>>(() => {
    const samples = this.samples();
    const measured = SERIES.map((s) => ({
      label: s.label,
      data: samples.map((p) => ({ x: p.t, y: p[s.key] / 1000 })),
      borderColor: s.color,
      backgroundColor: s.color,
      borderWidth: 2,
      pointRadius: 0,
      tension: 0.2,
      order: 0,
    }));
    const forecast = this.forecastPoints();
    const prices = this.pricePoints();
    return {
      datasets: [
        ...measured,
        ...(forecast.length
          ? [
              {
                label: 'PV forecast',
                data: forecast,
                borderColor: FORECAST_COLOR,
                backgroundColor: FORECAST_COLOR,
                borderWidth: 2,
                borderDash: [6, 4],
                pointRadius: 0,
                tension: 0,
                order: 1, // drawn first: behind the measured lines
              },
            ]
          : []),
        ...(prices.length
          ? [
              {
                label: 'Grid price',
                data: prices,
                yAxisID: 'price',
                borderColor: PRICE_COLOR,
                backgroundColor: PRICE_COLOR,
                borderWidth: 1.5,
                pointRadius: 0,
                tension: 0,
                order: 2,
              },
            ]
          : []),
      ],
    };
  });

  protected readonly options = computed<ChartConfiguration<'line'>['options']>(() => {
    const samples = this.samples();
    const now = this.now();
    const last = Math.max(
      now,
      forecastEnd(this.forecastPoints()) ?? now,
      pricesEnd(this.tariff()) ?? now,
    );
    const first = samples.length ? samples[0].t : now;
    const priceUnit = this.priceUnit();
    const tariff = this.tariff();
    const withPrices = this.pricePoints().length > 0;
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { position: 'top', labels: { boxWidth: 12, boxHeight: 2, color: '#888' } },
        tooltip: {
          // The tooltip takes every dataset's point of the same index, which for the price steps is
          // another time: the price is looked up at the tooltip's time instead (in the footer).
          filter: (item) => item.dataset.yAxisID !== 'price',
          callbacks: {
            title: (items) => (items.length ? hhmm(items[0].parsed.x ?? 0) : ''),
            label: (item) => `${item.dataset.label}: ${(item.parsed.y ?? 0).toFixed(2)} kW`,
            footer: (items) => {
              const price = items.length ? currentPriceText(tariff, items[0].parsed.x ?? 0) : null;
              return price ? `Grid price: ${price}` : '';
            },
          },
        },
      },
      scales: {
        x: {
          type: 'linear',
          min: Math.min(first, last - MIN_SPAN_MS),
          max: last,
          ticks: {
            color: '#888',
            stepSize: tickStep(last - Math.min(first, last - MIN_SPAN_MS)),
            includeBounds: false,
            callback: (v) => hhmm(Number(v)),
          },
          grid: { color: 'rgba(128,128,128,0.2)' },
        },
        y: {
          beginAtZero: true,
          ticks: { color: '#888', maxTicksLimit: 5 },
          title: { display: true, text: 'kW', color: '#888' },
          grid: { color: 'rgba(128,128,128,0.2)' },
        },
        price: {
          display: withPrices,
          position: 'right',
          ticks: { color: PRICE_COLOR, maxTicksLimit: 5 },
          title: { display: true, text: priceUnit, color: PRICE_COLOR },
          grid: { drawOnChartArea: false },
        },
      },
    };
  });

  /** Text alternative for the canvas. */
  protected readonly summary = computed(() => {
    const samples = this.samples();
    if (!samples.length) return 'Power chart of the last hour: no data yet';
    const p = samples[samples.length - 1];
    const minutes = Math.max(1, Math.round((p.t - samples[0].t) / 60000));
    const span = minutes >= 120 ? `${Math.round(minutes / 60)} h` : `${minutes} min`;
    const forecast = this.forecast();
    const ahead = forecast
      ? `; forecast for the rest of today ${(forecast.energy_today_remaining / 1000).toFixed(1)} kWh`
      : '';
    const price = currentPriceText(this.tariff(), p.t);
    const priced = price ? `; grid price now ${price}` : '';
    return `Power chart of the last ${span}; now PV ${kw(p.pv)}, home ${kw(p.home)}, car ${kw(p.car)}${ahead}${priced}`;
  });
}
