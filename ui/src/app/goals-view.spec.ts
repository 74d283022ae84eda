import { clockText } from './clock';
import {
  parsePriceLimit,
  planDaysText,
  planView,
  priceLimitView,
  samePlan,
  slotsText,
  socText,
  validTime,
} from './goals-view';
import { ChargeMode, TariffData } from './models';
import { makeDoc } from './testing';

describe('goals view functions', () => {
  const noon = new Date(2026, 10, 27, 12, 0).getTime(); // a Friday, local time
  const at = (day: number, h: number, m: number) => new Date(2026, 10, day, h, m).getTime() / 1000;

  it('shows times of the same day as HH:MM, other days with the weekday', () => {
    expect(clockText(at(27, 18, 5), noon)).toBe('18:05');
    expect(clockText(at(28, 7, 0), noon)).toBe('Sat 07:00');
  });

  it('says where the SOC comes from', () => {
    const c = (soc: number | null, source: string | null) =>
      makeDoc({ controller: { soc, soc_source: source } }).controller;
    expect(socText(c(62, 'car'))).toBe('62 % from the car');
    expect(socText(c(64.4, 'car (estimated)'))).toBe('64 % estimated from the charged energy');
    expect(socText(c(35, 'session energy'))).toBe(
      "35 % estimated from the session's energy (no car SOC)",
    );
    expect(socText(c(null, null))).toBe('SOC unknown');
  });

  it('names the weekdays of a plan', () => {
    expect(planDaysText([])).toBe('once');
    expect(planDaysText(['mon', 'tue', 'wed', 'thu', 'fri'])).toBe('Mo–Fr');
    expect(planDaysText(['sat', 'mon'])).toBe('Mo Sa');
    expect(planDaysText(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).toBe('every day');
  });

  it('shows the projection of a plan, and says when it cannot be met', () => {
    const plan = {
      soc: 80,
      time: '07:00',
      days: [],
      energy_needed_wh: 12_300,
      grid_start: at(28, 4, 30),
      projected_finish: at(28, 6, 10),
      achievable: true,
    };
    expect(planView(plan, noon)).toEqual({
      title: '80 % by 07:00, once',
      projection: 'needs 12.3 kWh · grid from Sat 04:30 · finishes Sat 06:10',
      warning: null,
      slots: [],
      cost: null,
    });
    const late = { ...plan, projected_finish: at(28, 8, 15), achievable: false };
    expect(planView(late, noon)?.warning).toBe(
      'Cannot be met: 80 % by 07:00 is out of reach (full power finishes Sat 08:15)',
    );
    expect(planView(null, noon)).toBeNull();
  });

  it("lists the plan's grid slots, neighbouring ones as one range, and its estimated cost", () => {
    const slot = (day: number, h: number, m: number, minutes: number, price: number | null) => ({
      start: at(day, h, m),
      end: at(day, h, m) + minutes * 60,
      grid_price: price,
    });
    const slots = [
      slot(28, 4, 15, 60, 0.25), // given out of order: shown in order
      slot(28, 2, 0, 60, 0.2),
      slot(28, 3, 0, 60, 0.2), // 03:00-04:00, same price as 02:00: one range at 0.200
      slot(28, 5, 15, 30, 0.3), // 04:15-05:45 at two prices: the mean over the time, "avg"
      slot(27, 13, 0, 15, -0.05), // today: no weekday
    ];
    expect(slotsText(slots, noon, 'EUR')).toEqual([
      '13:00–13:15 @ -0.050 €/kWh',
      'Sat 02:00–04:00 @ 0.200 €/kWh',
      'Sat 04:15–05:45 @ avg 0.267 €/kWh',
    ]);
    expect(slotsText([slot(27, 14, 0, 60, null)], noon, 'EUR')).toEqual(['14:00–15:00']);
    const plan = { soc: 80, time: '07:00', days: [], slots, cost_estimate: 2.345 };
    expect(planView(plan, noon, 'GBP')?.cost).toBe('estimated cost 2.35 £');
    expect(planView({ ...plan, cost_estimate: null }, noon)?.cost).toBeNull();
  });

  it('compares plans as set, whatever the order of the days', () => {
    const a = { soc: 80, time: '07:00', days: ['mon', 'fri'] as const };
    expect(samePlan({ ...a, days: [...a.days] }, { ...a, days: ['fri', 'mon'] })).toBe(true);
    expect(samePlan({ ...a, days: [...a.days] }, { ...a, days: [], soc: 80 })).toBe(false);
    expect(samePlan(null, null)).toBe(true);
    expect(samePlan(undefined, { ...a, days: [] })).toBe(false);
  });

  it('takes only a valid time', () => {
    expect(validTime('07:30')).toBe('07:30');
    expect(validTime('07:30:00')).toBe('07:30');
    expect(validTime('24:00')).toBeNull();
    expect(validTime('')).toBeNull();
  });

  it('reads the price limit as typed: a number, empty = off, anything else refused', () => {
    expect(parsePriceLimit('0.15')).toBe(0.15);
    expect(parsePriceLimit(' 0,12 ')).toBe(0.12);
    expect(parsePriceLimit('-0.02')).toBe(-0.02);
    expect(parsePriceLimit('')).toBeNull();
    expect(parsePriceLimit('  ')).toBeNull();
    expect(parsePriceLimit('cheap')).toBeUndefined();
    expect(parsePriceLimit('Infinity')).toBeUndefined();
  });

  it('says whether the price limit charges from the grid now', () => {
    const t0 = noon / 1000;
    const tariff: TariffData = {
      ts: t0,
      error: 0,
      source: 'Awattar',
      currency: 'EUR',
      periods: [
        { start: t0 - 600, end: t0 + 3000, grid_price: 0.12, feed_in: 0.08 },
        { start: t0 + 3000, end: t0 + 6600, grid_price: 0.31, feed_in: 0.08 },
      ],
    };
    const c = (price_limit: number | null, mode: ChargeMode = 'PV_ONLY') =>
      makeDoc({ controller: { price_limit, mode } }).controller;
    const later = noon + 3600_000;
    expect(priceLimitView(c(null), tariff, noon)).toEqual({
      active: false,
      text: 'Off: the grid price does not start charging',
    });
    expect(priceLimitView(c(0.12), tariff, noon)).toEqual({
      active: true,
      text: 'Active now: the grid price 0.120 €/kWh is at or below the limit',
    });
    expect(priceLimitView(c(0.15, 'PV_ALL'), tariff, noon).active).toBe(true);
    expect(priceLimitView(c(0.15), tariff, later)).toEqual({
      active: false,
      text: 'Not now: the grid price is 0.310 €/kWh',
    });
    expect(priceLimitView(c(0.15, 'MANUAL'), tariff, noon)).toEqual({
      active: false,
      text: 'The grid price 0.120 €/kWh is at or below the limit; it acts in the PV modes only',
    });
    expect(priceLimitView(c(0.15), null, noon)).toEqual({
      active: false,
      text: 'Not now: no grid price known for now',
    });
  });
});
