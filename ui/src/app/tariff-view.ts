/** The price now as the UI shows it, pure functions of the tariff (tariff-view.spec.ts); kept small, the
 * live page loads it at once (the chart's and the goals' price texts are in their own, deferred files). */
import { TariffData, TariffPeriod } from './models';

const SYMBOLS: Readonly<Record<string, string>> = { EUR: '€', GBP: '£', USD: '$' };

export function currencySymbol(currency: string | null | undefined): string {
  const code = currency || 'EUR';
  return SYMBOLS[code] ?? code;
}

/** "0.284 €/kWh": three decimals, as suppliers quote per-kWh prices. */
export function pricePerKwh(price: number, currency: string | null | undefined): string {
  return `${price.toFixed(3)} ${currencySymbol(currency)}/kWh`;
}

/** The period holding `nowMs`, or null when the tariff says nothing about it. */
export function periodAt(
  tariff: TariffData | null | undefined,
  nowMs: number,
): TariffPeriod | null {
  const now = nowMs / 1000;
  return tariff?.periods.find((p) => p.start <= now && now < p.end) ?? null;
}

/** "0.284 €/kWh" now, or null without a price for now. */
export function currentPriceText(
  tariff: TariffData | null | undefined,
  nowMs: number,
): string | null {
  const period = periodAt(tariff, nowMs);
  return period ? pricePerKwh(period.grid_price, tariff?.currency) : null;
}
