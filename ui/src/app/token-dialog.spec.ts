import { Injector } from '@angular/core';
import { TestBed } from '@angular/core/testing';

import { askForToken } from './token-dialog';

describe('askForToken', () => {
  const settle = () => new Promise((r) => setTimeout(r, 10));
  const input = () => document.querySelector<HTMLInputElement>('#token-input')!;
  const byText = (text: string) =>
    [...document.querySelectorAll<HTMLButtonElement>('button')].find(
      (b) => b.textContent?.trim() === text,
    )!;

  afterEach(() => {
    document.querySelectorAll('.cdk-overlay-container').forEach((e) => e.remove());
  });

  it('asks for the token in a dialog and returns what was entered', async () => {
    const answer = askForToken(TestBed.inject(Injector), false);
    await settle();
    expect(document.querySelector('h2')?.textContent).toContain('Token needed');
    expect(document.querySelector('[data-testid=token-reason]')?.textContent).toContain(
      'needs its token (api.auth_token) to change settings',
    );
    expect(input().type).toBe('password');
    expect(document.querySelector('label')?.textContent).toContain('Token');
    input().value = ' s3cret ';
    byText('OK').click();
    expect(await answer).toBe('s3cret');
  });

  it('says when the stored token was refused, and keeps the dialog open without input', async () => {
    const answer = askForToken(TestBed.inject(Injector), true);
    await settle();
    expect(document.querySelector('[data-testid=token-reason]')?.textContent).toContain(
      'was not accepted',
    );
    byText('OK').click(); // empty: nothing to send
    await settle();
    expect(input()).not.toBeNull();
    byText('Cancel').click();
    expect(await answer).toBeNull();
  });
});
