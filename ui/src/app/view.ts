/** What the cards show, as pure functions of the document: tested without TestBed (view.spec.ts). */
import {
  mdiAlertCircleOutline,
  mdiBattery,
  mdiBattery10,
  mdiBattery20,
  mdiBattery30,
  mdiBattery40,
  mdiBattery50,
  mdiBattery60,
  mdiBattery70,
  mdiBattery80,
  mdiBattery90,
  mdiBatteryOutline,
  mdiCheckCircleOutline,
  mdiEvStation,
  mdiLightningBolt,
  mdiPowerPlugOffOutline,
  mdiTimerSandEmpty,
  mdiTransmissionTowerExport,
  mdiTransmissionTowerImport,
} from '@mdi/js';

import {
  CarData,
  CarStatus,
  ControllerData,
  MeterData,
  PvControlDoc,
  WB_ERRORS,
  WallboxData,
} from './models';
import { Tone } from './stat-card';

/** Grid power below this (W, either way) counts as balanced. */
const GRID_BALANCED_W = 50;
/** Battery power below this (W, either way) counts as idle. */
const BATTERY_IDLE_W = 20;

const BATTERY_ICONS = [
  mdiBatteryOutline,
  mdiBattery10,
  mdiBattery20,
  mdiBattery30,
  mdiBattery40,
  mdiBattery50,
  mdiBattery60,
  mdiBattery70,
  mdiBattery80,
  mdiBattery90,
  mdiBattery,
];

export function batteryIcon(soc: number): string {
  const i = Math.round(Math.min(100, Math.max(0, soc || 0)) / 10);
  return BATTERY_ICONS[i];
}

export function kw(w: number | undefined | null): string {
  return ((w ?? 0) / 1000).toFixed(1);
}

export function kwh(wh: number | undefined | null): string {
  return ((wh ?? 0) / 1000).toFixed(1);
}

export interface GridView {
  value: string;
  detail: string;
  icon: string;
  tone: Tone;
}

export function gridView(meter: MeterData | undefined): GridView {
  const p = meter?.power_grid ?? 0;
  if (p > GRID_BALANCED_W) {
    return { value: kw(p), detail: 'importing', icon: mdiTransmissionTowerImport, tone: 'bad' };
  }
  if (p < -GRID_BALANCED_W) {
    return { value: kw(-p), detail: 'exporting', icon: mdiTransmissionTowerExport, tone: 'good' };
  }
  return {
    value: kw(Math.abs(p)),
    detail: 'balanced',
    icon: mdiTransmissionTowerExport,
    tone: 'neutral',
  };
}

export function batteryView(meter: MeterData | undefined) {
  const soc = meter?.soc_battery ?? 0;
  const p = meter?.power_battery ?? 0;
  const detail =
    p > BATTERY_IDLE_W
      ? `discharging ${kw(p)} kW`
      : p < -BATTERY_IDLE_W
        ? `charging ${kw(-p)} kW`
        : 'idle';
  const tone: Tone = soc < 20 ? 'warn' : p < -BATTERY_IDLE_W ? 'good' : 'neutral';
  return { soc: soc.toFixed(0), detail, icon: batteryIcon(soc), tone };
}

export interface CarView {
  value: string;
  unit: string;
  detail: string;
}

/** The car's SOC and range; without a car API the SOC is unknown: the session's energy instead of 0 %. */
export function carView(car: CarData | undefined): CarView {
  if (car?.soc_known === false) {
    return car.session_energy === null || car.session_energy === undefined
      ? { value: '—', unit: '', detail: 'SOC unknown' }
      : {
          value: kwh(car.session_energy),
          unit: 'kWh',
          detail: 'SOC unknown, charged this session',
        };
  }
  return {
    value: (car?.soc ?? 0).toFixed(0),
    unit: '%',
    detail: `range ${(car?.cruising_range ?? 0).toFixed(0)} km`,
  };
}

export interface WallboxView {
  charging: boolean;
  icon: string;
  text: string;
  tone: Tone;
  current: string;
  power: string;
}

const BY_STATUS: Record<number, { icon: string; text: string; tone: Tone }> = {
  [CarStatus.NoVehicle]: { icon: mdiPowerPlugOffOutline, text: 'No car', tone: 'neutral' },
  [CarStatus.Charging]: { icon: mdiLightningBolt, text: 'Charging', tone: 'good' },
  [CarStatus.WaitingForVehicle]: { icon: mdiTimerSandEmpty, text: 'Waiting', tone: 'warn' },
  [CarStatus.ChargingFinished]: { icon: mdiCheckCircleOutline, text: 'Finished', tone: 'good' },
};

export function wallboxView(wb: WallboxData | undefined): WallboxView {
  const idle = { charging: false, current: '', power: '' };
  if (!wb) return { ...idle, icon: mdiEvStation, text: '—', tone: 'neutral' };
  if (wb.wb_error) {
    const name = WB_ERRORS[wb.wb_error] ?? String(wb.wb_error);
    return { ...idle, icon: mdiAlertCircleOutline, text: `Error: ${name}`, tone: 'bad' };
  }
  if (wb.phases_out > 0) {
    return {
      charging: true,
      icon: mdiEvStation,
      text: 'Charging',
      tone: 'good',
      current: `${wb.phases_out} × ${wb.max_current} A`,
      power: `${kw(wb.power)} kW`,
    };
  }
  const s = BY_STATUS[wb.car_status] ?? { icon: mdiEvStation, text: 'Unknown', tone: 'neutral' };
  return { ...idle, ...s };
}

/**
 * "Charging starts/stops in N s" while the controller's allow-charging delay runs, counted on from
 * the service clocks up to the newest reading in the document, then by the browser's clock since the
 * document arrived (`sinceReceivedMs`).
 */
export function countdownText(doc: PvControlDoc | null, sinceReceivedMs: number): string | null {
  const c = doc?.controller;
  const wish = c?.allow_charging_wish;
  const delay = c?.allow_charging_delay;
  if (!doc || !c || wish === null || wish === undefined || delay == null || !(delay > 0)) {
    return null;
  }
  const newest = Math.max(c.ts, doc.meter?.ts ?? 0, doc.wallbox?.ts ?? 0, doc.relay?.ts ?? 0);
  const elapsed = Math.max(0, newest - c.ts) + Math.max(0, sinceReceivedMs / 1000);
  const left = Math.max(0, Math.ceil(delay - elapsed));
  const verb = wish ? 'starts' : 'stops';
  return left > 0 ? `Charging ${verb} in ${left} s` : `Charging ${verb} shortly`;
}

export interface EnergySplit {
  pv: string;
  grid: string;
  total: string;
  /** % of the bar */
  pvShare: number;
  gridShare: number;
}

/** Energy by source with bar shares; below 50 Wh in all the split is noise and the bar stays empty. */
export function energySplit(pvWh: number, gridWh: number): EnergySplit {
  const pv = Math.max(0, pvWh || 0);
  const grid = Math.max(0, gridWh || 0);
  const total = pv + grid;
  const shown = total >= 50;
  return {
    pv: kwh(pv),
    grid: kwh(grid),
    total: kwh(total),
    pvShare: shown ? (100 * pv) / total : 0,
    gridShare: shown ? (100 * grid) / total : 0,
  };
}

export function energyTodayView(doc: PvControlDoc | null): EnergySplit | null {
  const e = doc?.energy_today;
  return e ? energySplit(e.pv, e.grid) : null;
}

export function phaseCaptionText(
  pendingLabel: string | null,
  switchingAvailable: boolean,
  phasesIn: number,
): string {
  if (pendingLabel !== null) return `Switching to ${pendingLabel}…`;
  if (!switchingAvailable) return 'Phase switching not available (relay disabled)';
  return phasesIn === 1 ? 'Wallbox uses 1 phase' : `Wallbox uses ${phasesIn} phases`;
}

export function controllerReason(c: ControllerData | undefined): string | null {
  return c?.reason?.trim() || null;
}
