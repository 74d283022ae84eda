import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { MatCardModule } from '@angular/material/card';
import { mdiCloudOffOutline } from '@mdi/js';

import { Icon } from './icon';
import { Health } from './models';

export type Tone = 'neutral' | 'sun' | 'good' | 'bad' | 'warn';

/** A small card with one value: icon, label, value + unit, an optional detail line. */
@Component({
  selector: 'pvc-stat',
  imports: [MatCardModule, Icon],
  template: `
    <mat-card
      appearance="outlined"
      class="stat"
      [class.unhealthy]="health() !== 'ok'"
      role="group"
      [attr.aria-label]="label()"
      [attr.data-health]="health()"
    >
      <div class="head">
        <pvc-icon [path]="icon()" [class]="'tone-' + tone()" />
        <span class="label">{{ label() }}</span>
      </div>
      <div class="value">
        <span class="num">{{ value() }}</span>
        @if (unit()) {
          <span class="unit">{{ unit() }}</span>
        }
      </div>
      <div class="detail">
        @if (health() !== 'ok') {
          <span class="health"><pvc-icon [path]="offlineIcon" />{{ healthText() }}</span>
        } @else {
          {{ detail() }}
        }
      </div>
    </mat-card>
  `,
  styleUrl: './stat-card.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class StatCard {
  readonly label = input.required<string>();
  readonly icon = input.required<string>();
  readonly value = input.required<string>();
  readonly unit = input('');
  readonly detail = input('');
  readonly tone = input<Tone>('neutral');
  readonly health = input<Health>('ok');

  protected readonly offlineIcon = mdiCloudOffOutline;
  protected readonly healthText = computed(() =>
    this.health() === 'offline' ? 'offline' : 'stale',
  );
}
