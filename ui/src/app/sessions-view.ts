/** What the sessions page shows, as pure functions of the gateway's documents (sessions-view.spec.ts). */
import { ChargingSession, EnergyTotals, MonthTotals } from './models';
import { kwh } from './view';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface ShareBar {
  /** % of the bar width: solar, home battery, grid */
  pv: number;
  battery: number;
  grid: number;
  /** "72 % solar", or "" without energy */
  text: string;
}

export function shareBar(
  e: Pick<EnergyTotals, 'energy_wh' | 'pv_wh' | 'battery_wh' | 'grid_wh'>,
): ShareBar {
  const total = Math.max(0, e.pv_wh) + Math.max(0, e.battery_wh) + Math.max(0, e.grid_wh);
  if (total <= 0) return { pv: 0, battery: 0, grid: 0, text: '' };
  const pct = (v: number) => (100 * Math.max(0, v)) / total;
  const solar = Math.round(pct(e.pv_wh) + pct(e.battery_wh));
  return {
    pv: pct(e.pv_wh),
    battery: pct(e.battery_wh),
    grid: pct(e.grid_wh),
    text: `${solar} % solar`,
  };
}

/** "8.0 kWh", below 1 kWh "350 Wh" (a short top-up would read 0.0 kWh). */
export function energyText(wh: number): string {
  return wh < 999.5 ? `${Math.round(Math.max(0, wh))} Wh` : `${kwh(wh)} kWh`;
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** "Mon 24 Nov 18:05" (local time). */
export function when(ts: number): string {
  const d = new Date(ts * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
  return `${day} ${d.getDate()} ${MONTHS[d.getMonth()]} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "2 h 05 min", "35 min". */
export function duration(seconds: number): string {
  const minutes = Math.max(0, Math.round(seconds / 60));
  const h = Math.floor(minutes / 60);
  return h > 0 ? `${h} h ${two(minutes % 60)} min` : `${minutes} min`;
}

export interface SessionView {
  id: number;
  title: string;
  detail: string;
  energy: string;
  cost: string;
  bar: ShareBar;
  open: boolean;
}

export function sessionView(s: ChargingSession, nowMs: number): SessionView {
  const end = s.ended_at ?? nowMs / 1000;
  const parts = [
    s.open ? `charging for ${duration(end - s.started_at)}` : duration(end - s.started_at),
  ];
  if (s.soc_start !== null && s.soc_end !== null) {
    parts.push(`${s.soc_start.toFixed(0)} → ${s.soc_end.toFixed(0)} %`);
  }
  if (s.phases.length) parts.push(`${s.phases.join('/')} ph`);
  if (s.peak_power_w > 0) parts.push(`peak ${(s.peak_power_w / 1000).toFixed(1)} kW`);
  return {
    id: s.id,
    title: when(s.started_at),
    detail: parts.join(' · '),
    energy: energyText(s.energy_wh),
    cost: s.cost.toFixed(2),
    bar: shareBar(s),
    open: s.open,
  };
}

/** "Nov 2026". */
export function monthName(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m >= 1 && m <= 12 ? `${MONTHS[m - 1]} ${y}` : month;
}

export interface MonthView {
  month: string;
  title: string;
  detail: string;
  energy: string;
  cost: string;
  bar: ShareBar;
}

export function monthView(m: MonthTotals): MonthView {
  return {
    month: m.month,
    title: monthName(m.month),
    detail: `${m.sessions} session${m.sessions === 1 ? '' : 's'}`,
    energy: energyText(m.energy_wh),
    cost: m.cost.toFixed(2),
    bar: shareBar(m),
  };
}
