import { HttpErrorResponse } from '@angular/common/http';
import {
  ChangeDetectionStrategy,
  Component,
  OnInit,
  computed,
  inject,
  signal,
} from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';

import { ChargingSession, MonthTotals } from './models';
import { API_BASE, PvControlService } from './pvcontrol.service';
import { monthView, sessionView } from './sessions-view';

export const PAGE_SIZE = 20;

/** Why the history could not be read, in words. */
function problem(err: unknown): string {
  if (err instanceof HttpErrorResponse) {
    const detail: unknown = err.error?.detail;
    if (err.status === 503 && typeof detail === 'string') return detail;
    if (err.status === 401) return 'the token is needed';
    if (err.status) return `error ${err.status}`;
  }
  return 'no connection';
}

/** Charging sessions: totals per month and each session, newest first, with its solar share. */
@Component({
  selector: 'pvc-sessions-page',
  imports: [MatCardModule, MatButtonModule],
  templateUrl: './sessions-page.html',
  styleUrl: './sessions-page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class SessionsPage implements OnInit {
  private readonly svc = inject(PvControlService);

  protected readonly csvUrl = `${API_BASE}/sessions.csv`;
  private readonly months = signal<MonthTotals[]>([]);
  private readonly sessions = signal<ChargingSession[]>([]);
  protected readonly total = signal(0);
  protected readonly loading = signal(true);
  protected readonly error = signal<string | null>(null);
  private page = 0;

  protected readonly monthViews = computed(() => this.months().map(monthView));
  protected readonly sessionViews = computed(() => {
    const now = Date.now();
    return this.sessions().map((s) => sessionView(s, now));
  });
  protected readonly more = computed(() => this.sessions().length < this.total());

  ngOnInit(): void {
    void this.reload();
  }

  async reload(): Promise<void> {
    this.loading.set(true);
    try {
      const [totals, first] = await Promise.all([
        this.svc.sessionTotals(),
        this.svc.sessions(1, PAGE_SIZE),
      ]);
      this.page = 1;
      this.months.set(totals.months);
      this.sessions.set(first.sessions);
      this.total.set(first.total);
      this.error.set(null);
    } catch (err) {
      this.error.set(problem(err));
    } finally {
      this.loading.set(false);
    }
  }

  protected async loadMore(): Promise<void> {
    try {
      const next = await this.svc.sessions(this.page + 1, PAGE_SIZE);
      this.page += 1;
      const known = new Set(this.sessions().map((s) => s.id));
      this.sessions.update((s) => [...s, ...next.sessions.filter((n) => !known.has(n.id))]);
      this.total.set(next.total);
    } catch (err) {
      this.error.set(problem(err));
    }
  }
}
