import { ChangeDetectionStrategy, Component, input } from '@angular/core';
import { mdiInformationOutline } from '@mdi/js';

import { Icon } from './icon';

/** The controller's reason for what it does, under the charge mode ("starting in 20 s"). */
@Component({
  selector: 'pvc-reason',
  imports: [Icon],
  template: `<p class="reason" data-testid="controller-reason" aria-live="polite">
    <pvc-icon [path]="icon" />{{ text() }}
  </p>`,
  styles: `
    .reason {
      display: flex;
      align-items: center;
      gap: 0.25rem;
      margin: 0.25rem 0 0;
      font: var(--mat-sys-body-small);
      color: var(--mat-sys-on-surface-variant);
    }
    pvc-icon {
      width: 1.1em;
      height: 1.1em;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class Reason {
  readonly text = input.required<string>();
  protected readonly icon = mdiInformationOutline;
}
