import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  computed,
  effect,
  inject,
  input,
  signal,
  untracked,
} from '@angular/core';
import { MatCardModule } from '@angular/material/card';
import { MatSnackBar } from '@angular/material/snack-bar';
import { mdiEvStation, mdiTimerSandEmpty } from '@mdi/js';

import { Icon } from './icon';
import {
  CHARGE_MODES,
  ChargeMode,
  PHASE_MODES,
  PRIORITIES,
  PhaseMode,
  Priority,
  chargeModeLabel,
  priorityLabel,
  serviceHealth,
} from './models';
import { PvControlService } from './pvcontrol.service';
import { Reason } from './reason';
import { refusalReason } from './refusal';
import { SettingToggle } from './setting-toggle';
import { controllerReason, countdownText, phaseCaptionText, wallboxView } from './view';

/** Give up showing a requested setting as pending after this long. */
export const PENDING_TIMEOUT_MS = 120_000;
/**
 * A setting is sent after this quiet time, so that stepping through a group with the arrow keys (which
 * selects each toggle on the way) sends only the last one.
 */
export const COMMAND_DEBOUNCE_MS = 250;

interface Pending<T> {
  value: T;
  since: number;
  /** controller `ts` of the first document that showed the request accepted */
  acceptedTs?: number;
}

/** The wallbox: what it does, the countdown, and the charge mode, phase and priority settings. */
@Component({
  selector: 'pvc-wallbox-card',
  imports: [MatCardModule, Icon, Reason, SettingToggle],
  templateUrl: './wallbox-card.html',
  styleUrl: './wallbox-card.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class WallboxCard {
  private readonly svc = inject(PvControlService);
  private readonly snackBar = inject(MatSnackBar);

  /** The settings cannot be changed (no document yet, controller offline). */
  readonly disabled = input(false);

  protected readonly icons = { wallbox: mdiEvStation, pending: mdiTimerSandEmpty };
  protected readonly chargeModes = CHARGE_MODES;
  protected readonly phaseModes = PHASE_MODES;
  protected readonly priorities = PRIORITIES;

  private readonly doc = this.svc.state;
  private readonly controller = computed(() => this.doc()?.controller);
  /** Local clock, ticking every second, for the charging countdown. */
  private readonly now = signal(Date.now());

  protected readonly health = computed(() => serviceHealth(this.doc(), 'wallbox'));
  private readonly relayHealth = computed(() => serviceHealth(this.doc(), 'relay'));
  protected readonly wallbox = computed(() => wallboxView(this.doc()?.wallbox));
  protected readonly countdown = computed(() =>
    countdownText(this.doc(), this.now() - this.svc.receivedAt()),
  );
  protected readonly reason = computed(() => controllerReason(this.controller()));

  protected readonly pendingMode = signal<Pending<ChargeMode> | null>(null);
  protected readonly pendingPhase = signal<Pending<PhaseMode> | null>(null);
  protected readonly pendingPriority = signal<Pending<Priority> | null>(null);

  /** Effective charge mode (the controller's `mode`). */
  protected readonly mode = computed(() => this.controller()?.mode ?? null);
  protected readonly modeCaption = computed(() => {
    const p = this.pendingMode();
    if (p) return `Switching to ${chargeModeLabel(p.value)}…`;
    const mode = this.mode();
    return mode ? `Mode: ${chargeModeLabel(mode)}` : '';
  });

  protected readonly phaseMode = computed(() => this.controller()?.phase_mode ?? null);
  protected readonly phaseSwitchingAvailable = computed(
    () =>
      !!this.doc()?.relay?.enabled &&
      this.phaseMode() !== 'DISABLED' &&
      this.relayHealth() !== 'offline',
  );
  /** The phase mode whose phases the wallbox really uses. */
  protected readonly phaseInUse = computed(() => {
    const p = this.doc()?.wallbox?.phases_in ?? 0;
    return PHASE_MODES.find((m) => m.phases > 0 && m.phases === p)?.value ?? null;
  });
  protected readonly phaseCaption = computed(() => {
    const pending = this.pendingPhase();
    const label = pending
      ? (PHASE_MODES.find((m) => m.value === pending.value)?.label ?? '')
      : null;
    return phaseCaptionText(
      label,
      this.phaseSwitchingAvailable(),
      this.doc()?.wallbox?.phases_in ?? 0,
    );
  });

  protected readonly desiredPriority = computed(() => this.controller()?.desired_priority ?? null);
  /** Effective priority (AUTO resolved by the controller); AUTO itself is never "in use". */
  protected readonly priorityInUse = computed(() => {
    const p = this.controller()?.priority ?? null;
    return p === 'AUTO' ? null : p;
  });
  protected readonly priorityCaption = computed(() => {
    const pending = this.pendingPriority();
    if (pending) return `Switching to ${priorityLabel(pending.value)}…`;
    const p = this.controller()?.priority;
    return p ? `In use: ${priorityLabel(p)}` : '';
  });

  private readonly sendTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor() {
    // Settle pending requests whenever a new document arrives.
    effect(() => {
      this.doc();
      untracked(() => this.settlePending());
    });
    const tick = setInterval(() => this.now.set(Date.now()), 1000);
    inject(DestroyRef).onDestroy(() => {
      clearInterval(tick);
      this.sendTimers.forEach((t) => clearTimeout(t));
    });
  }

  /** Resolve pending requests against the newest document. */
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

  protected onMode(value: string): void {
    const mode = value as ChargeMode;
    this.pendingMode.set({ value: mode, since: Date.now() });
    this.send(
      'mode',
      () => this.svc.setDesiredMode(mode),
      'charge mode',
      () => this.pendingMode.set(null),
    );
  }

  protected onPhase(value: string): void {
    const phase = value as PhaseMode;
    this.pendingPhase.set({ value: phase, since: Date.now() });
    this.send(
      'phase',
      () => this.svc.setPhaseMode(phase),
      'phase mode',
      () => this.pendingPhase.set(null),
    );
  }

  protected onPriority(value: string): void {
    const priority = value as Priority;
    this.pendingPriority.set({ value: priority, since: Date.now() });
    this.send(
      'priority',
      () => this.svc.setDesiredPriority(priority),
      'priority',
      () => this.pendingPriority.set(null),
    );
  }

  private send(key: string, command: () => Promise<void>, what: string, clear: () => void): void {
    clearTimeout(this.sendTimers.get(key));
    this.sendTimers.set(
      key,
      setTimeout(() => {
        this.sendTimers.delete(key);
        command().then(
          () => this.settlePending(),
          (err) => {
            clear();
            this.snackBar.open(`Could not change the ${what}: ${refusalReason(err)}`, 'OK', {
              duration: 6000,
            });
          },
        );
      }, COMMAND_DEBOUNCE_MS),
    );
  }
}
