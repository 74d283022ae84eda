import { ChangeDetectionStrategy, Component, Injector, inject } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import {
  MAT_DIALOG_DATA,
  MatDialog,
  MatDialogModule,
  MatDialogRef,
} from '@angular/material/dialog';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { firstValueFrom } from 'rxjs';

export interface TokenDialogData {
  /** The stored token was refused (changed on the gateway, or mistyped). */
  rejected: boolean;
}

/** Asks for the gateway's token (`api.auth_token`). */
@Component({
  selector: 'pvc-token-dialog',
  imports: [MatDialogModule, MatFormFieldModule, MatInputModule, MatButtonModule],
  template: `
    <form (submit)="$event.preventDefault(); submit(token.value)">
      <h2 mat-dialog-title>Token needed</h2>
      <mat-dialog-content>
        <p data-testid="token-reason">
          @if (data.rejected) {
            The token was not accepted. Enter the current token of pv-control.
          } @else {
            This pv-control needs its token (api.auth_token) to change settings.
          }
        </p>
        <mat-form-field appearance="outline" class="token-field">
          <mat-label>Token</mat-label>
          <input
            matInput
            #token
            id="token-input"
            type="password"
            autocomplete="current-password"
            cdkFocusInitial
            required
          />
          <mat-hint>Kept on this device</mat-hint>
        </mat-form-field>
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button mat-button type="button" mat-dialog-close>Cancel</button>
        <button mat-flat-button type="submit" id="token-submit">OK</button>
      </mat-dialog-actions>
    </form>
  `,
  styles: `
    .token-field {
      width: 100%;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class TokenDialog {
  protected readonly data = inject<TokenDialogData>(MAT_DIALOG_DATA);
  private readonly ref = inject<MatDialogRef<TokenDialog, string>>(MatDialogRef);

  protected submit(value: string): void {
    if (value.trim()) this.ref.close(value.trim());
  }
}

/** Open the dialog; the entered token, or null when cancelled. */
export async function askForToken(injector: Injector, rejected: boolean): Promise<string | null> {
  const ref = injector.get(MatDialog).open<TokenDialog, TokenDialogData, string>(TokenDialog, {
    data: { rejected },
    width: '22rem',
    maxWidth: '95vw',
  });
  return (await firstValueFrom(ref.afterClosed())) || null; // "" from the Cancel button
}
