import { HttpErrorResponse } from '@angular/common/http';

/** Why the gateway refused a setting, in words for the snack bar. */
export function refusalReason(err: unknown): string {
  if (!(err instanceof HttpErrorResponse)) return 'no connection';
  const detail: unknown = err.error?.detail;
  if (err.status === 401) return 'the token is needed';
  if (err.status === 503) {
    // the gateway's reason: broker lost, controller offline or not responding
    return typeof detail === 'string' ? detail : 'controller offline';
  }
  if (err.status === 422 && typeof detail === 'string') return detail;
  return err.status ? `error ${err.status}` : 'no connection';
}
