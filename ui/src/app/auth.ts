import { HttpContextToken, HttpInterceptorFn } from '@angular/common/http';
import { Injectable, InjectionToken, Injector, inject, signal } from '@angular/core';

/** Where the gateway's token (`api.auth_token`) is kept in the browser. */
export const TOKEN_KEY = 'pvcontrol.token';

/** Set on a request that must go without the token (to learn whether reads need one). */
export const WITHOUT_TOKEN = new HttpContextToken<boolean>(() => false);

/** Asks the user for the token; resolves to null when cancelled. Replaced by a fake in unit tests. */
export const TOKEN_PROMPT = new InjectionToken<(rejected: boolean) => Promise<string | null>>(
  'TOKEN_PROMPT',
  {
    providedIn: 'root',
    factory: () => {
      const injector = inject(Injector);
      // The dialog is loaded only when a gateway asks for a token: an open demo never pays for it.
      return async (rejected: boolean) =>
        (await import('./token-dialog')).askForToken(injector, rejected);
    },
  },
);

function stored(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) || null;
  } catch {
    return null; // storage disabled: ask each time
  }
}

/** The token the gateway wants (once it answered 401), kept in local storage. */
@Injectable({ providedIn: 'root' })
export class AuthService {
  private readonly prompt = inject(TOKEN_PROMPT);
  private readonly _token = signal<string | null>(stored());
  readonly token = this._token.asReadonly();
  private asking: Promise<string | null> | null = null;

  /**
   * Ask for the token (`rejected`: the stored one was refused); one dialog at a time, however many
   * requests were refused. Resolves to the new token, or null when the user cancelled.
   */
  ask(rejected: boolean): Promise<string | null> {
    this.asking ??= this.prompt(rejected).then((answer) => {
      this.asking = null;
      const token = answer?.trim() || null;
      if (token) this.store(token);
      return token;
    });
    return this.asking;
  }

  private store(token: string): void {
    this._token.set(token);
    try {
      localStorage.setItem(TOKEN_KEY, token);
    } catch {
      /* kept for this page only */
    }
  }
}

/** Every request to the gateway carries the token once there is one. */
export const authInterceptor: HttpInterceptorFn = (req, next) => {
  const token = inject(AuthService).token();
  if (!token || req.context.get(WITHOUT_TOKEN)) return next(req);
  return next(req.clone({ setHeaders: { Authorization: `Bearer ${token}` } }));
};
