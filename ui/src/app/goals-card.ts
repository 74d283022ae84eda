import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  ElementRef,
  computed,
  effect,
  inject,
  input,
  signal,
  untracked,
  viewChild,
} from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatButtonToggleChange, MatButtonToggleModule } from '@angular/material/button-toggle';
import { MatCardModule } from '@angular/material/card';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatSelect, MatSelectModule } from '@angular/material/select';
import { MatSnackBar } from '@angular/material/snack-bar';
import { mdiAlertOutline, mdiCarClock, mdiTimerSandEmpty } from '@mdi/js';

import {
  DAY_LABELS,
  LIMIT_SOC_CHOICES,
  MIN_SOC_CHOICES,
  PLAN_SOC_CHOICES,
  parsePriceLimit,
  planView,
  priceLimitView,
  samePlan,
  socText,
  validTime,
} from './goals-view';
import { Icon } from './icon';
import { PlanSetting, WEEKDAYS, Weekday } from './models';
import { PvControlService } from './pvcontrol.service';
import { refusalReason } from './refusal';
import { currencySymbol } from './tariff-view';
import { PENDING_TIMEOUT_MS } from './wallbox-card';

type Goal = 'min' | 'limit' | 'plan' | 'price';

const GOAL_NAMES: Readonly<Record<Goal, string>> = {
  min: 'minimum SOC',
  limit: 'limit',
  plan: 'plan',
  price: 'price limit',
};

interface Pending {
  goal: Goal;
  value: number | PlanSetting | null;
  since: number;
}

/** With the choices, the reported value (the controller may have been set to any %). */
function withValue(choices: readonly number[], value: number): number[] {
  return [...new Set([...choices, value])].sort((a, b) => a - b);
}

/** The car's goals: minimum SOC, charge limit and a departure plan, with the plan's projection. */
@Component({
  selector: 'pvc-goals-card',
  imports: [
    MatCardModule,
    MatFormFieldModule,
    MatSelectModule,
    MatInputModule,
    MatButtonModule,
    MatButtonToggleModule,
    Icon,
  ],
  templateUrl: './goals-card.html',
  styleUrl: './goals-card.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class GoalsCard {
  private readonly svc = inject(PvControlService);
  private readonly snackBar = inject(MatSnackBar);

  /** The goals cannot be changed (no document yet, controller offline). */
  readonly disabled = input(false);

  protected readonly icons = {
    car: mdiCarClock,
    warn: mdiAlertOutline,
    pending: mdiTimerSandEmpty,
  };
  protected readonly weekdays = WEEKDAYS;
  protected readonly dayLabels = DAY_LABELS;
  protected readonly planSocChoices = PLAN_SOC_CHOICES;

  private readonly controller = computed(() => this.svc.state()?.controller);
  private readonly now = signal(Date.now());

  /** Reported values; 0 = no minimum, 100 = no limit. */
  protected readonly minSoc = computed(() => this.controller()?.min_soc ?? 0);
  protected readonly limitSoc = computed(() => this.controller()?.limit_soc ?? 100);
  protected readonly minChoices = computed(() => withValue(MIN_SOC_CHOICES, this.minSoc()));
  protected readonly limitChoices = computed(() => withValue(LIMIT_SOC_CHOICES, this.limitSoc()));
  protected readonly soc = computed(() => socText(this.controller()));
  private readonly tariff = computed(() => this.svc.state()?.tariff ?? null);
  protected readonly plan = computed(() =>
    planView(this.controller()?.plan, this.now(), this.tariff()?.currency ?? null),
  );

  /** The reported price limit per kWh, null: off. */
  protected readonly priceLimit = computed(() => this.controller()?.price_limit ?? null);
  protected readonly priceLimitText = computed(() => {
    const limit = this.priceLimit();
    return limit === null ? '' : String(limit);
  });
  protected readonly priceUnit = computed(() => `${currencySymbol(this.tariff()?.currency)}/kWh`);
  protected readonly priceLimitState = computed(() =>
    priceLimitView(this.controller(), this.tariff(), this.now()),
  );

  /** The plan being edited (initialised from the reported one). */
  protected readonly planSoc = signal(80);
  protected readonly planTime = signal('07:00');
  protected readonly planDays = signal<Weekday[]>([]);

  protected readonly pending = signal<Pending | null>(null);
  protected readonly caption = computed(() => {
    const p = this.pending();
    if (!p) return '';
    const what = p.goal === 'min' ? 'minimum' : GOAL_NAMES[p.goal];
    return `Waiting for the controller to take the ${what}…`;
  });

  private readonly minSelect = viewChild<MatSelect>('minSelect');
  private readonly limitSelect = viewChild<MatSelect>('limitSelect');
  private readonly priceInput = viewChild<ElementRef<HTMLInputElement>>('priceInput');

  constructor() {
    let shown: PlanSetting | null | undefined;
    effect(() => {
      const reported = this.controller()?.plan ?? null;
      untracked(() => {
        if (shown === undefined || !samePlan(shown, reported)) {
          shown = reported;
          if (reported) {
            this.planSoc.set(reported.soc);
            this.planTime.set(reported.time);
            this.planDays.set([...(reported.days ?? [])]);
          }
        }
        this.settle();
      });
    });
    const tick = setInterval(() => this.now.set(Date.now()), 30_000);
    inject(DestroyRef).onDestroy(() => clearInterval(tick));
  }

  protected setMin(value: number): void {
    this.send({ goal: 'min', value, since: Date.now() }, () => this.svc.setMinSoc(value));
  }

  protected setLimit(value: number): void {
    this.send({ goal: 'limit', value, since: Date.now() }, () => this.svc.setLimitSoc(value));
  }

  protected setDays(e: MatButtonToggleChange): void {
    const days = (Array.isArray(e.value) ? e.value : []) as Weekday[];
    this.planDays.set(WEEKDAYS.filter((d) => days.includes(d)));
  }

  protected setTime(value: string): void {
    this.planTime.set(value);
  }

  protected savePlan(): void {
    const time = validTime(this.planTime());
    if (time === null) {
      this.snackBar.open('The plan needs a time (HH:MM)', 'OK', { duration: 6000 });
      return;
    }
    const plan: PlanSetting = { soc: this.planSoc(), time, days: this.planDays() };
    this.send({ goal: 'plan', value: plan, since: Date.now() }, () => this.svc.setPlan(plan));
  }

  protected clearPlan(): void {
    this.send({ goal: 'plan', value: null, since: Date.now() }, () => this.svc.setPlan(null));
  }

  /** The price limit as typed (committed with Enter or on leaving the field); empty turns it off. */
  protected setPriceLimit(input: HTMLInputElement): void {
    const value = input.validity.badInput ? undefined : parsePriceLimit(input.value);
    if (value === undefined) {
      this.showReportedPriceLimit();
      this.snackBar.open(`The price limit needs a number (${this.priceUnit()})`, 'OK', {
        duration: 6000,
      });
      return;
    }
    if (value === this.priceLimit()) return;
    this.send({ goal: 'price', value, since: Date.now() }, () => this.svc.setPriceLimit(value));
  }

  protected clearPriceLimit(): void {
    const input = this.priceInput()?.nativeElement;
    if (input) input.value = '';
    this.send({ goal: 'price', value: null, since: Date.now() }, () =>
      this.svc.setPriceLimit(null),
    );
  }

  private showReportedPriceLimit(): void {
    const input = this.priceInput()?.nativeElement;
    if (input) input.value = this.priceLimitText();
  }

  private send(pending: Pending, command: () => Promise<void>): void {
    this.pending.set(pending);
    command().then(
      () => this.settle(),
      (err) => {
        this.pending.set(null);
        this.minSelect()?.writeValue(this.minSoc());
        this.limitSelect()?.writeValue(this.limitSoc());
        this.showReportedPriceLimit();
        this.snackBar.open(
          `Could not change the ${GOAL_NAMES[pending.goal]}: ${refusalReason(err)}`,
          'OK',
          {
            duration: 6000,
          },
        );
      },
    );
  }

  /** The controller reports what was asked for (or it took too long): no longer pending. */
  private settle(): void {
    const p = this.pending();
    const c = this.controller();
    if (!p) return;
    const done =
      Date.now() - p.since > PENDING_TIMEOUT_MS ||
      (p.goal === 'min' && (c?.min_soc ?? 0) === p.value) ||
      (p.goal === 'limit' && (c?.limit_soc ?? 100) === p.value) ||
      (p.goal === 'plan' && samePlan(c?.plan, p.value as PlanSetting | null)) ||
      (p.goal === 'price' && (c?.price_limit ?? null) === p.value);
    if (done) this.pending.set(null);
  }
}
