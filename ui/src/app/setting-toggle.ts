import { ChangeDetectionStrategy, Component, input, output, viewChild } from '@angular/core';
import {
  MatButtonToggleChange,
  MatButtonToggleGroup,
  MatButtonToggleModule,
} from '@angular/material/button-toggle';
import { mdiLightningBolt, mdiTimerSandEmpty } from '@mdi/js';

import { Icon } from './icon';

export interface ToggleOption {
  value: string;
  label: string;
}

/**
 * One setting as a toggle group: marks what pv-control reports (`value`), not what was clicked; a click
 * is emitted (`picked`) and shown as pending (⌛) until the parent clears `pending`. The option in use
 * (`effective`, e.g. the phases the wallbox really uses) gets a ⚡.
 */
@Component({
  selector: 'pvc-setting-toggle',
  imports: [MatButtonToggleModule, Icon],
  template: `
    <div class="setting-head">
      <span class="setting-label" [id]="'label-' + name()">{{ label() }}</span>
      <span class="caption" aria-live="polite" [attr.data-testid]="name() + '-caption'">{{
        caption()
      }}</span>
    </div>
    <mat-button-toggle-group
      [id]="groupId()"
      class="toggles"
      [attr.aria-labelledby]="'label-' + name()"
      [value]="value()"
      (change)="onChange($event)"
      [disabled]="disabled()"
      hideSingleSelectionIndicator
    >
      @for (o of options(); track o.value) {
        <mat-button-toggle
          [id]="optionIdPrefix() + o.value"
          [value]="o.value"
          [class.effective]="o.value === effective()"
          [class.pending]="o.value === pending()"
        >
          @if (o.value === pending()) {
            <pvc-icon class="inline" [path]="icons.pending" />
          } @else if (o.value === effective()) {
            <pvc-icon class="inline" [path]="icons.bolt" />
          }
          {{ o.label }}
        </mat-button-toggle>
      }
    </mat-button-toggle-group>
    <ng-content />
  `,
  styleUrl: './setting-toggle.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class SettingToggle {
  /** Short name: ids `label-<name>` and `<name>-caption` (used by tests and assistive tech). */
  readonly name = input.required<string>();
  readonly label = input.required<string>();
  readonly groupId = input.required<string>();
  readonly optionIdPrefix = input.required<string>();
  readonly options = input.required<readonly ToggleOption[]>();
  /** What pv-control reports. */
  readonly value = input<string | null>(null);
  readonly effective = input<string | null>(null);
  readonly pending = input<string | null>(null);
  readonly caption = input('');
  readonly disabled = input(false);
  readonly picked = output<string>();

  protected readonly icons = { pending: mdiTimerSandEmpty, bolt: mdiLightningBolt };
  private readonly group = viewChild.required(MatButtonToggleGroup);

  protected onChange(e: MatButtonToggleChange): void {
    // The group shows what pv-control reports, not what was clicked: the click is shown as pending.
    this.group().value = this.value();
    this.picked.emit(e.value as string);
  }
}
