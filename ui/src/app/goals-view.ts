/** What the goals card shows, as pure functions of the controller's state (goals-view.spec.ts). */
import { ControllerData, PlanSetting, PlanState, WEEKDAYS, Weekday } from './models';
import { kwh } from './view';

export const DAY_LABELS: Readonly<Record<Weekday, string>> = {
  mon: 'Mo',
  tue: 'Tu',
  wed: 'We',
  thu: 'Th',
  fri: 'Fr',
  sat: 'Sa',
  sun: 'Su',
};
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Choices for the minimum (0 = none) and the limit (100 = none), in steps of 5 %. */
export const MIN_SOC_CHOICES = Array.from({ length: 20 }, (_, i) => i * 5); // 0..95
export const LIMIT_SOC_CHOICES = Array.from({ length: 11 }, (_, i) => 50 + i * 5); // 50..100
export const PLAN_SOC_CHOICES = Array.from({ length: 19 }, (_, i) => 10 + i * 5); // 10..100

/** "07:00", or "Mon 07:00" when not on the day of `nowMs` (local time). */
export function clockText(ts: number, nowMs: number): string {
  const d = new Date(ts * 1000);
  const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return d.toDateString() === new Date(nowMs).toDateString()
    ? hhmm
    : `${DAY_NAMES[d.getDay()]} ${hhmm}`;
}

/** Where the SOC the goals go by comes from, in words. */
export function socText(c: ControllerData | undefined): string {
  if (!c || c.soc === null || c.soc === undefined) return 'SOC unknown';
  const source = c.soc_source ?? '';
  const from =
    source === 'car'
      ? 'from the car'
      : source === 'car (estimated)'
        ? 'estimated from the charged energy'
        : source === 'session energy'
          ? "estimated from the session's energy (no car SOC)"
          : source;
  return `${c.soc.toFixed(0)} %${from ? ` ${from}` : ''}`;
}

export function planDaysText(days: readonly Weekday[]): string {
  if (!days.length) return 'once';
  if (days.length === 7) return 'every day';
  if (days.length === 5 && WEEKDAYS.slice(0, 5).every((d) => days.includes(d))) return 'Mo–Fr';
  return WEEKDAYS.filter((d) => days.includes(d))
    .map((d) => DAY_LABELS[d])
    .join(' ');
}

export interface PlanView {
  /** "80 % by 07:00, Mo–Fr" */
  title: string;
  /** "needs 12.3 kWh · grid from 04:30 · finishes 06:10" */
  projection: string;
  /** set when the plan cannot be met any more */
  warning: string | null;
}

export function planView(plan: PlanState | null | undefined, nowMs: number): PlanView | null {
  if (!plan) return null;
  const title = `${plan.soc} % by ${plan.time}, ${planDaysText(plan.days ?? [])}`;
  const parts: string[] = [];
  if (plan.energy_needed_wh != null) parts.push(`needs ${kwh(plan.energy_needed_wh)} kWh`);
  if (plan.grid_start != null) parts.push(`grid from ${clockText(plan.grid_start, nowMs)}`);
  if (plan.projected_finish != null) {
    parts.push(`finishes ${clockText(plan.projected_finish, nowMs)}`);
  }
  const warning =
    plan.achievable === false
      ? `Cannot be met: ${plan.soc} % by ${plan.time} is out of reach${
          plan.projected_finish != null
            ? ` (full power finishes ${clockText(plan.projected_finish, nowMs)})`
            : ''
        }`
      : null;
  return { title, projection: parts.join(' · '), warning };
}

/** Does the controller report this plan (as set)? */
export function samePlan(a: PlanSetting | null | undefined, b: PlanSetting | null): boolean {
  if (!a || !b) return !a && !b;
  const days = (p: PlanSetting) => WEEKDAYS.filter((d) => (p.days ?? []).includes(d)).join(',');
  return a.soc === b.soc && a.time === b.time && days(a) === days(b);
}

/** A valid HH:MM (what `<input type="time">` gives), or null. */
export function validTime(value: string): string | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)/.exec(value.trim());
  return m ? `${m[1]}:${m[2]}` : null;
}
