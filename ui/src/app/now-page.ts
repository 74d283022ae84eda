import { ChangeDetectionStrategy, Component, computed, inject, input } from '@angular/core';
import { MatCardModule } from '@angular/material/card';
import {
  mdiCarElectric,
  mdiHomeLightningBolt,
  mdiLightningBolt,
  mdiSolarPower,
  mdiThermometer,
} from '@mdi/js';

import { Icon } from './icon';
import { LiveChart } from './live-chart';
import { serviceHealth } from './models';
import { PvControlService } from './pvcontrol.service';
import { StatCard, Tone } from './stat-card';
import { currentPriceText } from './tariff-view';
import { batteryPlanText } from './battery-plan-view';
import { batteryView, carView, energyTodayView, gridView, kw } from './view';
import { WallboxCard } from './wallbox-card';

/** The live page: power cards, the wallbox and its settings, today's energy, the chart. */
@Component({
  selector: 'pvc-now-page',
  imports: [MatCardModule, Icon, StatCard, LiveChart, WallboxCard],
  templateUrl: './now-page.html',
  styleUrl: './now-page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class NowPage {
  private readonly svc = inject(PvControlService);

  /** The settings cannot be changed (no document yet, controller offline). */
  readonly controlsDisabled = input(false);

  protected readonly icons = {
    pv: mdiSolarPower,
    home: mdiHomeLightningBolt,
    car: mdiCarElectric,
    temp: mdiThermometer,
    bolt: mdiLightningBolt,
  };
  private readonly doc = this.svc.state;
  protected readonly history = this.svc.history;
  protected readonly forecast = computed(() => this.doc()?.forecast ?? null);
  protected readonly tariff = computed(() => this.doc()?.tariff ?? null);

  protected readonly meterHealth = computed(() => serviceHealth(this.doc(), 'meter'));
  protected readonly wallboxHealth = computed(() => serviceHealth(this.doc(), 'wallbox'));
  protected readonly carHealth = computed(() => serviceHealth(this.doc(), 'car'));

  private readonly meter = computed(() => this.doc()?.meter);
  protected readonly pvPower = computed(() => kw(this.meter()?.power_pv));
  protected readonly pvTone = computed<Tone>(() =>
    (this.meter()?.power_pv ?? 0) > 0 ? 'sun' : 'neutral',
  );
  protected readonly homePower = computed(() => kw(this.meter()?.power_consumption));
  protected readonly grid = computed(() => {
    const view = gridView(this.meter());
    const price = currentPriceText(this.tariff(), Date.now());
    // the price first: on a phone the card's one line is cut after ~15 characters, the icon tells the way
    return price ? { ...view, detail: `${price} · ${view.detail}` } : view;
  });
  protected readonly battery = computed(() => {
    const view = batteryView(this.meter());
    const plan = batteryPlanText(this.doc()?.controller?.home_battery, Date.now());
    return plan ? { ...view, detail: `${view.detail} · ${plan}` } : view;
  });
  protected readonly car = computed(() => carView(this.doc()?.car));
  protected readonly temperature = computed(() =>
    (this.doc()?.wallbox?.temperature ?? 0).toFixed(0),
  );
  protected readonly energyToday = computed(() => energyTodayView(this.doc()));
}
