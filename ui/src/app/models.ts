/** The documents the gateway sends (GET /api/pvcontrol and each SSE `state` event). */

export type ChargeMode = 'OFF' | 'PV_ONLY' | 'PV_ALL' | 'MAX' | 'MANUAL';
export type PhaseMode = 'DISABLED' | 'AUTO' | 'CHARGE_1P' | 'CHARGE_3P';
export type Priority = 'AUTO' | 'HOME_BATTERY' | 'CAR';
export type ServiceName = 'meter' | 'wallbox' | 'car' | 'relay' | 'controller';
/** `unknown`: status online, but no state since the gateway (re)connected or for too long. */
export type ServiceStatus = 'online' | 'offline' | 'unknown';

export interface StateDoc {
  /** Unix seconds, when read. */
  ts: number;
  /** Consecutive read failures, 0 = ok. */
  error: number;
}

export interface MeterData extends StateDoc {
  power_pv: number;
  power_consumption: number;
  /** + import, − export */
  power_grid: number;
  /** + discharge, − charge */
  power_battery: number;
  soc_battery: number;
}

export enum CarStatus {
  NoVehicle = 1,
  Charging = 2,
  WaitingForVehicle = 3,
  ChargingFinished = 4,
}

export interface WallboxData extends StateDoc {
  wb_error: number;
  car_status: CarStatus;
  max_current: number;
  allow_charging: boolean;
  phases_in: number;
  phases_out: number;
  power: number;
  charged_energy: number;
  total_energy: number;
  temperature: number;
}

export interface CarData extends StateDoc {
  soc: number;
  cruising_range: number;
  /** false: no one knows the SOC (no car API: WallboxCar, NoCar); `soc` is then 0 and means nothing. */
  soc_known?: boolean;
  /** Wh charged in the wallbox's current session, from a car that knows only that (WallboxCar). */
  session_energy?: number | null;
}

export interface RelayData extends StateDoc {
  enabled: boolean;
  phase_relay: boolean;
  phases: number;
}

export interface ControllerData extends StateDoc {
  mode: ChargeMode;
  desired_mode: ChargeMode;
  phase_mode: PhaseMode;
  priority: Priority;
  desired_priority: Priority;
  /** A pending start (true) or stop (false); null when nothing is pending. */
  allow_charging_wish?: boolean | null;
  /** Seconds until the pending start/stop happens; null when nothing is pending. */
  allow_charging_delay?: number | null;
  /** What the controller does and why, one sentence ("starting in 20 s"); null when nothing to say. */
  reason?: string | null;
  /** The car's goals: charge at full power below `min_soc`, stop at `limit_soc` (null: none). */
  min_soc?: number | null;
  limit_soc?: number | null;
  plan?: PlanState | null;
  /** Per kWh in the tariff's currency: PV modes also charge from the grid while the price is at or
   * below it; null: off. */
  price_limit?: number | null;
  /** The SOC the goals go by, and where it comes from ("car", "car (estimated)", "session energy"). */
  soc?: number | null;
  soc_source?: string | null;
  /** The home battery's plan with a PV forecast; null without a forecast or battery to plan with. */
  home_battery?: HomeBatteryState | null;
}

export interface HomeBatteryState {
  /** Energy the battery still needs to be full (Wh). */
  needed_wh: number;
  /** Unix s: the target (sunset less `home_battery_full_before_sunset`). */
  full_by: number;
  /** Unix s: when the forecast fills it; null: not before sunset. */
  full_at?: number | null;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A departure plan as set: "80 % by 07:00", optionally on some weekdays only. */
export interface PlanSetting {
  soc: number;
  /** HH:MM, local */
  time: string;
  days: Weekday[];
}

/** The plan as the controller reports it, with its projection. */
export interface PlanState extends PlanSetting {
  /** Unix seconds of the next occurrence */
  deadline?: number | null;
  energy_needed_wh?: number | null;
  /** Unix seconds: full power from then on if the sun has not done it */
  grid_start?: number | null;
  /** Unix seconds */
  projected_finish?: number | null;
  achievable?: boolean;
  /** The periods in which it charges from the grid (the cheapest ones with a tariff). */
  slots?: PlanSlot[];
  /** What the grid energy it still buys costs at the slots' prices; null without prices. */
  cost_estimate?: number | null;
}

/** A period in which a departure plan charges from the grid: epoch seconds, price per kWh. */
export interface PlanSlot {
  start: number;
  end: number;
  /** null: no tariff known */
  grid_price?: number | null;
}

/** One charging session (GET api/pvcontrol/sessions). */
export interface ChargingSession {
  id: number;
  /** Unix seconds */
  started_at: number;
  ended_at: number | null;
  open: boolean;
  energy_wh: number;
  pv_wh: number;
  battery_wh: number;
  grid_wh: number;
  /** share of solar (and home battery) energy, 0..1; null without energy */
  solar_share: number | null;
  cost: number;
  soc_start: number | null;
  soc_end: number | null;
  phases: number[];
  peak_power_w: number;
}

export interface SessionsPage {
  page: number;
  page_size: number;
  total: number;
  tariff: { grid_price: number; feed_in_tariff: number };
  sessions: ChargingSession[];
}

export interface EnergyTotals {
  energy_wh: number;
  pv_wh: number;
  battery_wh: number;
  grid_wh: number;
  solar_share: number | null;
  cost: number;
}

export interface MonthTotals extends EnergyTotals {
  /** YYYY-MM */
  month: string;
  sessions: number;
}

export interface SessionTotals {
  months: MonthTotals[];
  total: EnergyTotals & { sessions: number };
}

/** GET api/pvcontrol/history: per-minute averages as columns (W). */
export interface PowerHistory {
  interval: number;
  ts: number[];
  power_pv: number[];
  power_grid: number[];
  power_battery: number[];
  power_consumption: number[];
  power_car: number[];
}

/** 15 minutes of the PV forecast: epoch seconds, mean W of the whole roof. */
export interface ForecastPeriod {
  start: number;
  end: number;
  power_pv: number;
}

/** `P/forecast/state`: from the current 15 minutes to the end of tomorrow. */
export interface ForecastData extends StateDoc {
  source: string;
  periods: ForecastPeriod[];
  sunrise: number | null;
  sunset: number | null;
  energy_today_remaining: number;
  energy_tomorrow: number;
}

/** One period of the tariff: epoch seconds, prices per kWh as paid (bought) and earned (fed in). */
export interface TariffPeriod {
  start: number;
  end: number;
  grid_price: number;
  feed_in: number;
}

/** `P/tariff/state`: prices from the current period to the last known one (tomorrow's from ~13:00). */
export interface TariffData extends StateDoc {
  source: string;
  /** ISO 4217, e.g. EUR */
  currency: string;
  periods: TariffPeriod[];
}

export interface PvControlDoc {
  version: string;
  controller: ControllerData;
  meter: MeterData;
  wallbox: WallboxData;
  relay: RelayData;
  car: CarData;
  /** Extension of the live document: MQTT status of each service (and maybe `api`). */
  status?: Partial<Record<ServiceName | 'api', ServiceStatus | string>>;
  /** Extension: energy charged into the car today, by source (Wh). */
  energy_today?: { pv: number; grid: number };
  /** Extension: the PV forecast, null until the forecast service published one. */
  forecast?: ForecastData | null;
  /** Extension: the tariff's prices, null until the tariff service published them. */
  tariff?: TariffData | null;
}

export const CHARGE_MODES: readonly { value: ChargeMode; label: string }[] = [
  { value: 'OFF', label: 'Off' },
  { value: 'PV_ONLY', label: 'PV only' },
  { value: 'PV_ALL', label: 'PV all' },
  { value: 'MAX', label: 'Max' },
  { value: 'MANUAL', label: 'Manual' },
];

export const PHASE_MODES: readonly { value: PhaseMode; label: string; phases: number }[] = [
  { value: 'AUTO', label: 'Auto', phases: 0 },
  { value: 'CHARGE_1P', label: '1 phase', phases: 1 },
  { value: 'CHARGE_3P', label: '3 phases', phases: 3 },
];

export const PRIORITIES: readonly { value: Priority; label: string }[] = [
  { value: 'AUTO', label: 'Auto' },
  { value: 'HOME_BATTERY', label: 'Home' },
  { value: 'CAR', label: 'Car' },
];

export const WB_ERRORS: Readonly<Record<number, string>> = {
  1: 'RCCB',
  3: 'phase',
  8: 'no ground',
  10: 'internal',
  100: 'phase relay',
};

export function chargeModeLabel(mode: ChargeMode | null | undefined): string {
  return CHARGE_MODES.find((m) => m.value === mode)?.label ?? String(mode ?? '');
}

export function priorityLabel(p: Priority | null | undefined): string {
  return p === 'HOME_BATTERY' ? 'Home battery' : p === 'CAR' ? 'Car' : p === 'AUTO' ? 'Auto' : '';
}

/** How fresh a service's values are. */
export type Health = 'ok' | 'stale' | 'offline';

/** A reading older than this (behind the newest reading of any service) counts as stale. */
export const STALE_AFTER_S = 90;

/**
 * `offline` when the service's MQTT status is offline, `stale` when it reports read errors or its
 * reading lags far behind the newest one in the document, else `ok`.
 */
export function serviceHealth(doc: PvControlDoc | null, service: ServiceName): Health {
  if (!doc) return 'offline';
  if (doc.status && doc.status[service] !== undefined && doc.status[service] !== 'online') {
    return 'offline';
  }
  const s = doc[service];
  if (!s || s.error > 0) return 'stale';
  const newest = Math.max(
    ...(['meter', 'wallbox', 'controller', 'relay'] as const).map((k) => doc[k]?.ts ?? 0),
  );
  if (service !== 'car' && s.ts > 0 && newest - s.ts > STALE_AFTER_S) return 'stale';
  return 'ok';
}
