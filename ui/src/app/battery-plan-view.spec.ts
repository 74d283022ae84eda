import { batteryPlanText } from './battery-plan-view';

/** Unix s of a local time today (the texts are local clock times). */
function today(hours: number, minutes = 0): number {
  const d = new Date(2026, 5, 21, hours, minutes);
  return d.getTime() / 1000;
}

const NOW_MS = today(10) * 1000;

describe('batteryPlanText', () => {
  it('says the target when the forecast fills the battery by then', () => {
    const plan = { needed_wh: 3200, full_by: today(19), full_at: today(13, 20) };
    expect(batteryPlanText(plan, NOW_MS)).toBe('full by 19:00');
  });

  it('says the forecast time when it fills later than the target', () => {
    const plan = { needed_wh: 3200, full_by: today(19), full_at: today(19, 40) };
    expect(batteryPlanText(plan, NOW_MS)).toBe('full at 19:40 (forecast)');
  });

  it('says what it still needs when it does not fill today', () => {
    const plan = { needed_wh: 3200, full_by: today(19), full_at: null };
    expect(batteryPlanText(plan, NOW_MS)).toBe('not full today: needs 3.2 kWh');
    expect(batteryPlanText({ needed_wh: 3200, full_by: today(19) }, NOW_MS)).toBe(
      'not full today: needs 3.2 kWh',
    );
  });

  it('says nothing without a plan or for a full battery', () => {
    expect(batteryPlanText(null, NOW_MS)).toBeNull();
    expect(batteryPlanText(undefined, NOW_MS)).toBeNull();
    expect(
      batteryPlanText({ needed_wh: 50, full_by: today(19), full_at: today(10) }, NOW_MS),
    ).toBeNull();
  });
});
