/** What the goals card shows, as pure functions of the controller's state (goals-view.spec.ts). */
import { clockText, hhmm } from './clock';
import {
  ControllerData,
  PlanSetting,
  PlanSlot,
  PlanState,
  TariffData,
  WEEKDAYS,
  Weekday,
} from './models';
import { currencySymbol, periodAt, pricePerKwh } from './tariff-view';
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

/** Choices for the minimum (0 = none) and the limit (100 = none), in steps of 5 %. */
export const MIN_SOC_CHOICES = Array.from({ length: 20 }, (_, i) => i * 5); // 0..95
export const LIMIT_SOC_CHOICES = Array.from({ length: 11 }, (_, i) => 50 + i * 5); // 50..100
export const PLAN_SOC_CHOICES = Array.from({ length: 19 }, (_, i) => 10 + i * 5); // 10..100

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
  /** the periods it charges from the grid: "02:00–04:00 @ 0.212 €/kWh" */
  slots: string[];
  /** "estimated cost 2.35 €", null without prices */
  cost: string | null;
}

/** "2.35 €" */
export function money(amount: number, currency: string | null | undefined): string {
  return `${amount.toFixed(2)} ${currencySymbol(currency)}`;
}

/** The plan's grid slots, neighbouring ones as one range at their mean price ("avg" when they differ). */
export function slotsText(
  slots: readonly PlanSlot[] | undefined,
  nowMs: number,
  currency: string | null | undefined,
): string[] {
  const ranges: { start: number; end: number; prices: (number | null)[]; spans: number[] }[] = [];
  for (const slot of [...(slots ?? [])].sort((a, b) => a.start - b.start)) {
    const last = ranges[ranges.length - 1];
    const price = slot.grid_price ?? null;
    if (last && last.end === slot.start) {
      last.end = slot.end;
      last.prices.push(price);
      last.spans.push(slot.end - slot.start);
    } else {
      ranges.push({
        start: slot.start,
        end: slot.end,
        prices: [price],
        spans: [slot.end - slot.start],
      });
    }
  }
  return ranges.map((r) => {
    const range = `${clockText(r.start, nowMs)}–${hhmm(r.end)}`;
    if (r.prices.some((p) => p === null)) return range;
    const known = r.prices as number[];
    const total = r.spans.reduce((a, b) => a + b, 0);
    const mean = known.reduce((sum, p, i) => sum + p * r.spans[i], 0) / total;
    const mixed = known.some((p) => p !== known[0]);
    return `${range} @ ${mixed ? 'avg ' : ''}${pricePerKwh(mean, currency)}`;
  });
}

export function planView(
  plan: PlanState | null | undefined,
  nowMs: number,
  currency: string | null = null,
): PlanView | null {
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
  const cost =
    plan.cost_estimate != null ? `estimated cost ${money(plan.cost_estimate, currency)}` : null;
  return {
    title,
    projection: parts.join(' · '),
    warning,
    slots: slotsText(plan.slots, nowMs, currency),
    cost,
  };
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

/** The price limit as typed: a number per kWh, null when empty (off), undefined when not a number. */
export function parsePriceLimit(text: string): number | null | undefined {
  const t = text.trim().replace(',', '.');
  if (t === '') return null;
  const value = Number(t);
  return Number.isFinite(value) ? value : undefined;
}

export interface PriceLimitView {
  /** the grid price now is at or below the limit and the mode is one it acts in */
  active: boolean;
  /** "Active now: the grid price 0.120 €/kWh is at or below the limit" */
  text: string;
}

/** Whether the price limit charges from the grid now (it acts in the PV modes only), in words. */
export function priceLimitView(
  controller: ControllerData | undefined,
  tariff: TariffData | null | undefined,
  nowMs: number,
): PriceLimitView {
  const limit = controller?.price_limit;
  if (limit === null || limit === undefined) {
    return { active: false, text: 'Off: the grid price does not start charging' };
  }
  const period = periodAt(tariff, nowMs);
  if (!period) return { active: false, text: 'Not now: no grid price known for now' };
  const price = pricePerKwh(period.grid_price, tariff?.currency);
  if (period.grid_price > limit)
    return { active: false, text: `Not now: the grid price is ${price}` };
  const pvMode = controller?.mode === 'PV_ONLY' || controller?.mode === 'PV_ALL';
  return pvMode
    ? { active: true, text: `Active now: the grid price ${price} is at or below the limit` }
    : {
        active: false,
        text: `The grid price ${price} is at or below the limit; it acts in the PV modes only`,
      };
}
