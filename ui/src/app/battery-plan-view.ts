/** The home battery's plan with a PV forecast, in words for its card (battery-plan-view.spec.ts). */
import { clockText } from './clock';
import { HomeBatteryState } from './models';
import { kwh } from './view';

/** Below this (Wh) the battery counts as full: nothing to say (as the controller's plan). */
const FULL_ENOUGH_WH = 100;

/**
 * "full by 17:00" when the forecast fills it by the target, "full at 17:40 (forecast)" when later,
 * "not full today: needs 3.2 kWh" when not before sunset; null without a plan or when it is full.
 */
export function batteryPlanText(
  plan: HomeBatteryState | null | undefined,
  nowMs: number,
): string | null {
  if (!plan || plan.needed_wh < FULL_ENOUGH_WH) {
    return null;
  }
  if (plan.full_at === null || plan.full_at === undefined) {
    return `not full today: needs ${kwh(plan.needed_wh)} kWh`;
  }
  if (plan.full_at <= plan.full_by) {
    return `full by ${clockText(plan.full_by, nowMs)}`;
  }
  return `full at ${clockText(plan.full_at, nowMs)} (forecast)`;
}
