import { HttpErrorResponse } from '@angular/common/http';
import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  OnInit,
  computed,
  effect,
  inject,
  signal,
  untracked,
  viewChild,
} from '@angular/core';
import {
  MatButtonToggleChange,
  MatButtonToggleGroup,
  MatButtonToggleModule,
} from '@angular/material/button-toggle';
import { MatCardModule } from '@angular/material/card';
import { MatSnackBar, MatSnackBarModule } from '@angular/material/snack-bar';
import { MatToolbarModule } from '@angular/material/toolbar';
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
  mdiCarElectric,
  mdiCheckCircleOutline,
  mdiEvStation,
  mdiHomeLightningBolt,
  mdiLanDisconnect,
  mdiLightningBolt,
  mdiPowerPlugOffOutline,
  mdiRobotOffOutline,
  mdiServerNetworkOff,
  mdiSolarPower,
  mdiThermometer,
  mdiTimerSandEmpty,
  mdiTransmissionTowerExport,
  mdiTransmissionTowerImport,
  mdiWeatherSunny,
} from '@mdi/js';

import { Icon } from './icon';
import { LiveChart } from './live-chart';
import {
  CHARGE_MODES,
  CarStatus,
  ChargeMode,
  Health,
  PHASE_MODES,
  PRIORITIES,
  PhaseMode,
  Priority,
  WB_ERRORS,
  chargeModeLabel,
  priorityLabel,
  serviceHealth,
} from './models';
import { PvControlService } from './pvcontrol.service';
import { Reason } from './reason';
import { StatCard, Tone } from './stat-card';

/** Give up showing a requested setting as pending after this long. */
export const PENDING_TIMEOUT_MS = 120_000;
/**
 * A setting is sent after this quiet time, so that stepping through a group with the arrow keys (which
 * selects each toggle on the way) sends only the last one.
 */
export const COMMAND_DEBOUNCE_MS = 250;
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

interface Pending<T> {
  value: T;
  since: number;
  /** controller `ts` of the first document that showed the request accepted */
  acceptedTs?: number;
}

interface Banner {
  kind: 'connection' | 'broker' | 'controller' | 'connecting';
  icon: string;
  text: string;
}

@Component({
  selector: 'app-root',
  imports: [
    MatToolbarModule,
    MatCardModule,
    MatButtonToggleModule,
    MatSnackBarModule,
    Icon,
    StatCard,
    LiveChart,
    Reason,
  ],
  templateUrl: './app.html',
  styleUrl: './app.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class App implements OnInit {
  private readonly svc = inject(PvControlService);
  private readonly snackBar = inject(MatSnackBar);
  private readonly destroyRef = inject(DestroyRef);

  protected readonly icons = {
    sun: mdiWeatherSunny,
    pv: mdiSolarPower,
    home: mdiHomeLightningBolt,
    car: mdiCarElectric,
    temp: mdiThermometer,
    wallbox: mdiEvStation,
    bolt: mdiLightningBolt,
    pending: mdiTimerSandEmpty,
  };
  protected readonly chargeModes = CHARGE_MODES;
  protected readonly phaseModes = PHASE_MODES;
  protected readonly priorities = PRIORITIES;

  protected readonly doc = this.svc.state;
  protected readonly history = this.svc.history;
  protected readonly loaded = computed(() => this.doc() !== null);
  protected readonly version = computed(() => this.doc()?.version ?? '');

  /** Local clock, ticking every second, for the charging countdown. */
  protected readonly now = signal(Date.now());

  // ---- health of each service ----
  protected readonly meterHealth = computed<Health>(() => serviceHealth(this.doc(), 'meter'));
  protected readonly wallboxHealth = computed<Health>(() => serviceHealth(this.doc(), 'wallbox'));
  protected readonly carHealth = computed<Health>(() => serviceHealth(this.doc(), 'car'));
  protected readonly relayHealth = computed<Health>(() => serviceHealth(this.doc(), 'relay'));
  protected readonly controllerOnline = computed(() => {
    const d = this.doc();
    return !!d && (d.status?.controller === undefined || d.status.controller === 'online');
  });

  protected readonly banner = computed<Banner | null>(() => {
    const conn = this.svc.connection();
    if (conn === 'reconnecting') {
      return {
        kind: 'connection',
        icon: mdiLanDisconnect,
        text: 'No connection to pv-control. Reconnecting… Values shown may be outdated.',
      };
    }
    if (!this.loaded()) {
      return { kind: 'connecting', icon: mdiLanDisconnect, text: 'Connecting to pv-control…' };
    }
    const status = this.doc()?.status;
    if (status?.api !== undefined && status.api !== 'online') {
      return {
        kind: 'broker',
        icon: mdiServerNetworkOff,
        text: 'The gateway lost the MQTT broker. Values are not updated.',
      };
    }
    if (!this.controllerOnline()) {
      return {
        kind: 'controller',
        icon: mdiRobotOffOutline,
        // `unknown`: its status says online, but no state came lately (the gateway's liveness check)
        text:
          status?.controller === 'unknown'
            ? 'Controller not responding: charging may not be controlled, settings cannot be changed.'
            : 'Controller offline: charging is not being controlled, settings cannot be changed.',
      };
    }
    return null;
  });

  // ---- meter ----
  private readonly meter = computed(() => this.doc()?.meter);
  protected readonly pvPower = computed(() => kw(this.meter()?.power_pv));
  protected readonly pvTone = computed<Tone>(() =>
    (this.meter()?.power_pv ?? 0) > 0 ? 'sun' : 'neutral',
  );
  protected readonly homePower = computed(() => kw(this.meter()?.power_consumption));
  protected readonly grid = computed(() => {
    const p = this.meter()?.power_grid ?? 0;
    if (p > GRID_BALANCED_W) {
      return {
        value: kw(p),
        detail: 'importing',
        icon: mdiTransmissionTowerImport,
        tone: 'bad' as Tone,
      };
    }
    if (p < -GRID_BALANCED_W) {
      return {
        value: kw(-p),
        detail: 'exporting',
        icon: mdiTransmissionTowerExport,
        tone: 'good' as Tone,
      };
    }
    return {
      value: kw(Math.abs(p)),
      detail: 'balanced',
      icon: mdiTransmissionTowerExport,
      tone: 'neutral' as Tone,
    };
  });
  protected readonly battery = computed(() => {
    const m = this.meter();
    const soc = m?.soc_battery ?? 0;
    const p = m?.power_battery ?? 0;
    const detail =
      p > BATTERY_IDLE_W
        ? `discharging ${kw(p)} kW`
        : p < -BATTERY_IDLE_W
          ? `charging ${kw(-p)} kW`
          : 'idle';
    const tone: Tone = soc < 20 ? 'warn' : p < -BATTERY_IDLE_W ? 'good' : 'neutral';
    return { soc: soc.toFixed(0), detail, icon: batteryIcon(soc), tone };
  });

  // ---- car and wallbox ----
  protected readonly car = computed(() => {
    const c = this.doc()?.car;
    return {
      soc: (c?.soc ?? 0).toFixed(0),
      detail: `range ${(c?.cruising_range ?? 0).toFixed(0)} km`,
    };
  });
  protected readonly temperature = computed(() =>
    (this.doc()?.wallbox?.temperature ?? 0).toFixed(0),
  );

  protected readonly wallbox = computed(() => {
    const wb = this.doc()?.wallbox;
    if (!wb) {
      return {
        charging: false,
        icon: mdiEvStation,
        text: '—',
        tone: 'neutral' as Tone,
        current: '',
        power: '',
      };
    }
    if (wb.wb_error) {
      const name = WB_ERRORS[wb.wb_error] ?? String(wb.wb_error);
      return {
        charging: false,
        icon: mdiAlertCircleOutline,
        text: `Error: ${name}`,
        tone: 'bad' as Tone,
        current: '',
        power: '',
      };
    }
    if (wb.phases_out > 0) {
      return {
        charging: true,
        icon: mdiEvStation,
        text: 'Charging',
        tone: 'good' as Tone,
        current: `${wb.phases_out} × ${wb.max_current} A`,
        power: `${kw(wb.power)} kW`,
      };
    }
    const byStatus: Record<number, { icon: string; text: string; tone: Tone }> = {
      [CarStatus.NoVehicle]: { icon: mdiPowerPlugOffOutline, text: 'No car', tone: 'neutral' },
      [CarStatus.Charging]: { icon: mdiLightningBolt, text: 'Charging', tone: 'good' },
      [CarStatus.WaitingForVehicle]: { icon: mdiTimerSandEmpty, text: 'Waiting', tone: 'warn' },
      [CarStatus.ChargingFinished]: { icon: mdiCheckCircleOutline, text: 'Finished', tone: 'good' },
    };
    const s = byStatus[wb.car_status] ?? {
      icon: mdiEvStation,
      text: 'Unknown',
      tone: 'neutral' as Tone,
    };
    return { charging: false, ...s, current: '', power: '' };
  });

  /** "Charging starts/stops in N s" while the controller's allow-charging delay runs. */
  protected readonly countdown = computed(() => {
    const c = this.doc()?.controller;
    const wish = c?.allow_charging_wish;
    const delay = c?.allow_charging_delay;
    if (
      wish === null ||
      wish === undefined ||
      delay === null ||
      delay === undefined ||
      !(delay > 0)
    ) {
      return null;
    }
    // Seconds since the controller reported the delay: by the service clocks up to the newest reading in
    // the document, then by the browser's clock since the document arrived.
    const d = this.doc()!;
    const newest = Math.max(c!.ts, d.meter?.ts ?? 0, d.wallbox?.ts ?? 0, d.relay?.ts ?? 0);
    const elapsed =
      Math.max(0, newest - c!.ts) + Math.max(0, (this.now() - this.svc.receivedAt()) / 1000);
    const left = Math.max(0, Math.ceil(delay - elapsed));
    const verb = wish ? 'starts' : 'stops';
    return left > 0 ? `Charging ${verb} in ${left} s` : `Charging ${verb} shortly`;
  });

  protected readonly energyToday = computed(() => {
    const e = this.doc()?.energy_today;
    if (!e) return null;
    const pv = Math.max(0, e.pv || 0);
    const grid = Math.max(0, e.grid || 0);
    const total = pv + grid;
    const shown = total >= 50; // below 0.1 kWh the split is noise
    return {
      pv: (pv / 1000).toFixed(1),
      grid: (grid / 1000).toFixed(1),
      total: (total / 1000).toFixed(1),
      pvShare: shown ? (100 * pv) / total : 0,
      gridShare: shown ? (100 * grid) / total : 0,
    };
  });

  // ---- settings ----
  private readonly controller = computed(() => this.doc()?.controller);
  protected readonly controlsDisabled = computed(() => !this.loaded() || !this.controllerOnline());

  /** Effective charge mode (the controller's `mode`). */
  protected readonly mode = computed(() => this.controller()?.mode ?? null);
  protected readonly desiredMode = computed(() => this.controller()?.desired_mode ?? null);
  protected readonly phaseMode = computed(() => this.controller()?.phase_mode ?? null);
  protected readonly phasesIn = computed(() => this.doc()?.wallbox?.phases_in ?? 0);
  protected readonly phaseSwitchingAvailable = computed(
    () =>
      !!this.doc()?.relay?.enabled &&
      this.phaseMode() !== 'DISABLED' &&
      this.relayHealth() !== 'offline',
  );
  protected readonly phaseCaption = computed(() => {
    const pending = this.pendingPhase();
    if (pending)
      return `Switching to ${PHASE_MODES.find((m) => m.value === pending.value)?.label ?? ''}…`;
    if (!this.phaseSwitchingAvailable()) return 'Phase switching not available (relay disabled)';
    const p = this.phasesIn();
    return p === 1
      ? 'Wallbox uses 1 phase'
      : p === 3
        ? 'Wallbox uses 3 phases'
        : `Wallbox uses ${p} phases`;
  });
  protected readonly desiredPriority = computed(() => this.controller()?.desired_priority ?? null);
  /** Effective priority (AUTO resolved by the controller). */
  protected readonly priority = computed(() => this.controller()?.priority ?? null);
  protected readonly priorityCaption = computed(() => {
    const pending = this.pendingPriority();
    if (pending) return `Switching to ${priorityLabel(pending.value)}…`;
    const p = this.priority();
    if (!p) return '';
    return `In use: ${priorityLabel(p)}`;
  });

  protected readonly pendingMode = signal<Pending<ChargeMode> | null>(null);
  protected readonly pendingPhase = signal<Pending<PhaseMode> | null>(null);
  protected readonly pendingPriority = signal<Pending<Priority> | null>(null);

  /** The controller's own words for what it does and why ("starting in 20 s"), when it gives any. */
  protected readonly reason = computed(() => this.controller()?.reason?.trim() || null);

  protected readonly modeCaption = computed(() => {
    const p = this.pendingMode();
    if (p) return `Switching to ${chargeModeLabel(p.value)}…`;
    const mode = this.mode();
    return mode ? `Mode: ${chargeModeLabel(mode)}` : '';
  });

  private readonly modeGroup = viewChild('modeGroup', { read: MatButtonToggleGroup });
  private readonly phaseGroup = viewChild('phaseGroup', { read: MatButtonToggleGroup });
  private readonly priorityGroup = viewChild('priorityGroup', { read: MatButtonToggleGroup });

  constructor() {
    // Settle pending requests whenever a new document arrives.
    effect(() => {
      this.doc();
      untracked(() => this.settlePending());
    });
    const tick = setInterval(() => this.now.set(Date.now()), 1000);
    this.destroyRef.onDestroy(() => {
      clearInterval(tick);
      this.sendTimers.forEach((t) => clearTimeout(t));
    });
  }

  ngOnInit(): void {
    this.svc.start();
  }

  /** Resolve pending requests against the newest document (public for tests). */
  settlePending(now = Date.now()): void {
    const c = this.controller();
    const expired = <T>(p: Pending<T> | null) => !!p && now - p.since > PENDING_TIMEOUT_MS;

    const pm = this.pendingMode();
    if (pm) {
      if (expired(pm) || (c && c.mode === pm.value)) {
        this.pendingMode.set(null);
      } else if (c) {
        if (pm.acceptedTs === undefined) {
          if (c.desired_mode === pm.value) this.pendingMode.set({ ...pm, acceptedTs: c.ts });
        } else if (c.ts > pm.acceptedTs || c.desired_mode !== pm.value) {
          // a cycle ran after the controller took the request: `mode` is now what it made of it
          this.pendingMode.set(null);
        }
      }
    }
    const pp = this.pendingPhase();
    if (pp && (expired(pp) || c?.phase_mode === pp.value)) this.pendingPhase.set(null);
    const pr = this.pendingPriority();
    if (pr && (expired(pr) || c?.desired_priority === pr.value)) this.pendingPriority.set(null);
  }

  protected onModeChange(e: MatButtonToggleChange): void {
    const value = e.value as ChargeMode;
    this.resetGroup(this.modeGroup(), this.mode());
    this.pendingMode.set({ value, since: Date.now() });
    this.send(
      'mode',
      () => this.svc.setDesiredMode(value),
      'charge mode',
      () => this.pendingMode.set(null),
    );
  }

  protected onPhaseChange(e: MatButtonToggleChange): void {
    const value = e.value as PhaseMode;
    this.resetGroup(this.phaseGroup(), this.phaseMode());
    this.pendingPhase.set({ value, since: Date.now() });
    this.send(
      'phase',
      () => this.svc.setPhaseMode(value),
      'phase mode',
      () => this.pendingPhase.set(null),
    );
  }

  protected onPriorityChange(e: MatButtonToggleChange): void {
    const value = e.value as Priority;
    this.resetGroup(this.priorityGroup(), this.desiredPriority());
    this.pendingPriority.set({ value, since: Date.now() });
    this.send(
      'priority',
      () => this.svc.setDesiredPriority(value),
      'priority',
      () => this.pendingPriority.set(null),
    );
  }

  private readonly sendTimers = new Map<string, ReturnType<typeof setTimeout>>();

  private send(key: string, command: () => Promise<void>, what: string, clear: () => void): void {
    clearTimeout(this.sendTimers.get(key));
    this.sendTimers.set(
      key,
      setTimeout(() => {
        this.sendTimers.delete(key);
        command().then(
          () => this.settlePending(),
          (err) => this.failed(what, err, clear),
        );
      }, COMMAND_DEBOUNCE_MS),
    );
  }

  /** The groups show what pv-control reports, not what was clicked: the click is shown as pending. */
  private resetGroup(group: MatButtonToggleGroup | undefined, value: unknown): void {
    if (group) group.value = value;
  }

  private failed(what: string, err: unknown, clear: () => void): void {
    clear();
    let reason = 'no connection';
    if (err instanceof HttpErrorResponse) {
      const detail: unknown = err.error?.detail;
      reason =
        err.status === 401
          ? 'the token is needed'
          : err.status === 503
            ? typeof detail === 'string'
              ? detail // the gateway's reason: broker lost, controller offline or not responding
              : 'controller offline'
            : err.status
              ? `error ${err.status}`
              : 'no connection';
    }
    this.snackBar.open(`Could not change the ${what}: ${reason}`, 'OK', { duration: 6000 });
  }
}
