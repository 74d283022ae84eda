import { TariffData } from './models';
import { money } from './goals-view';
import { pricePoints, pricesEnd } from './live-chart';
import { currentPriceText, periodAt, pricePerKwh } from './tariff-view';

describe('tariff view functions', () => {
  const h = 3600;
  const t0 = 1_800_000_000;
  const tariff: TariffData = {
    ts: t0,
    error: 0,
    source: 'Awattar',
    currency: 'EUR',
    periods: [
      { start: t0, end: t0 + h, grid_price: 0.2841, feed_in: 0.08 },
      { start: t0 + h, end: t0 + 2 * h, grid_price: -0.012, feed_in: 0 },
      // an hour without prices, then one more
      { start: t0 + 3 * h, end: t0 + 4 * h, grid_price: 0.4, feed_in: 0.08 },
    ],
  };

  it('formats prices per kWh and amounts with the currency', () => {
    expect(pricePerKwh(0.2841, 'EUR')).toBe('0.284 €/kWh');
    expect(pricePerKwh(0.2, 'GBP')).toBe('0.200 £/kWh');
    expect(pricePerKwh(1.5, 'SEK')).toBe('1.500 SEK/kWh');
    expect(money(2.345, 'EUR')).toBe('2.35 €');
  });

  it('finds the price now, and none outside the known periods', () => {
    expect(currentPriceText(tariff, (t0 + 10) * 1000)).toBe('0.284 €/kWh');
    expect(currentPriceText(tariff, (t0 + h) * 1000)).toBe('-0.012 €/kWh');
    expect(periodAt(tariff, (t0 + 2.5 * h) * 1000)).toBeNull();
    expect(currentPriceText(tariff, (t0 + 4 * h) * 1000)).toBeNull();
    expect(currentPriceText(null, t0 * 1000)).toBeNull();
  });

  it('draws the prices as steps in ms, with a gap where no price is known', () => {
    expect(pricePoints(tariff)).toEqual([
      { x: t0 * 1000, y: 0.2841 },
      { x: (t0 + h) * 1000, y: 0.2841 },
      { x: (t0 + h) * 1000, y: -0.012 },
      { x: (t0 + 2 * h) * 1000, y: -0.012 },
      { x: (t0 + 2 * h) * 1000, y: null },
      { x: (t0 + 3 * h) * 1000, y: 0.4 },
      { x: (t0 + 4 * h) * 1000, y: 0.4 },
    ]);
    expect(pricesEnd(tariff)).toBe((t0 + 4 * h) * 1000);
    expect(pricePoints(null)).toEqual([]);
    expect(pricesEnd({ ...tariff, periods: [] })).toBeNull();
  });
});
