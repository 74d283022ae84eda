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

import { ForecastData } from './models';
import { Sample } from './pvcontrol.service';

export const SERIES = [
  { key: 'pv', label: 'PV', color: '#f2a900' },
  { key: 'home', label: 'Home', color: '#3f8fe0' },
  { key: 'car', label: 'Car', color: '#2ea84f' },
] as const;

const MIN_SPAN_MS = 2 * 60 * 1000;
const FORECAST_COLOR = 'rgba(242, 169, 0, 0.45)';

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

function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Whole minutes between time ticks, at most about 5 ticks. */
export function tickStep(spanMs: number): number {
  const minutes =
    [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360].find((m) => spanMs / (m * 60_000) <= 5) ?? 360;
  return minutes * 60_000;
}

function kw(w: number): string {
  return `${(w / 1000).toFixed(1)} kW`;
}

/** Line chart of PV, home and car power: the gateway's last 24 h, then the events received; behind
 * them, dashed, the PV forecast for the rest of today. */
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

  private readonly now = computed(() => {
    const samples = this.samples();
    return samples.length ? samples[samples.length - 1].t : Date.now();
  });
  private readonly forecastPoints = computed(() => forecastToday(this.forecast(), this.now()));

  protected readonly data = computed<ChartData<'line', { x: number; y: number }[]>>(() => {
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
    if (!forecast.length) return { datasets: measured };
    return {
      datasets: [
        ...measured,
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
      ],
    };
  });

  protected readonly options = computed<ChartConfiguration<'line'>['options']>(() => {
    const samples = this.samples();
    const now = this.now();
    const last = Math.max(now, forecastEnd(this.forecastPoints()) ?? now);
    const first = samples.length ? samples[0].t : now;
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
          callbacks: {
            title: (items) => (items.length ? hhmm(items[0].parsed.x ?? 0) : ''),
            label: (item) => `${item.dataset.label}: ${(item.parsed.y ?? 0).toFixed(2)} kW`,
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
    return `Power chart of the last ${span}; now PV ${kw(p.pv)}, home ${kw(p.home)}, car ${kw(p.car)}${ahead}`;
  });
}
