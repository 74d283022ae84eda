import { ChangeDetectionStrategy, Component, input } from '@angular/core';

/** An inline SVG icon (a Material Design Icons path), decorative: the text next to it carries the meaning. */
@Component({
  selector: 'pvc-icon',
  template: `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    <path [attr.d]="path()" />
  </svg>`,
  styles: `
    :host {
      display: inline-flex;
      width: 1.5em;
      height: 1.5em;
      flex: none;
      vertical-align: middle;
    }
    svg {
      width: 100%;
      height: 100%;
      fill: currentColor;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class Icon {
  readonly path = input.required<string>();
}
