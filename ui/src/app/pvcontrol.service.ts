import { HttpClient, HttpContext, HttpErrorResponse } from '@angular/common/http';
import { DestroyRef, Injectable, InjectionToken, computed, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';

import { AuthService, WITHOUT_TOKEN } from './auth';
import {
  ChargeMode,
  PhaseMode,
  PlanSetting,
  PowerHistory,
  Priority,
  PvControlDoc,
  SessionTotals,
  SessionsPage,
} from './models';

/** Creates the EventSource; replaced by a fake in unit tests. */
export const EVENT_SOURCE_FACTORY = new InjectionToken<(url: string) => EventSource>(
  'EVENT_SOURCE_FACTORY',
  { providedIn: 'root', factory: () => (url: string) => new EventSource(url) },
);

/** Relative to <base href>, so the UI works under any prefix. */
export const API_BASE = 'api/pvcontrol';
export const EVENTS_URL = `${API_BASE}/events`;

/** One point of the live chart. */
export interface Sample {
  /** ms since epoch (browser clock, when received) */
  t: number;
  pv: number;
  home: number;
  car: number;
}

/** Live points are kept at SAMPLE_MS for this long, then one per minute... */
export const HISTORY_MS = 60 * 60 * 1000;
/** ...for this long: the chart opens with the last day from the gateway's history. */
export const DAY_MS = 24 * HISTORY_MS;
export const MINUTE_MS = 60_000;
export const HISTORY_URL = `${API_BASE}/history?hours=24`;
/** At most one chart point per this interval (the last event in it wins). */
export const SAMPLE_MS = 5000;
/** Without any event for this long the connection is considered dead and reopened. */
export const WATCHDOG_MS = 65_000;
const MAX_BACKOFF_MS = 15_000;

export type Connection = 'connecting' | 'open' | 'reconnecting';

@Injectable({ providedIn: 'root' })
export class PvControlService {
  private readonly http = inject(HttpClient);
  private readonly createEventSource = inject(EVENT_SOURCE_FACTORY);
  private readonly auth = inject(AuthService);

  private readonly _state = signal<PvControlDoc | null>(null);
  private readonly _connection = signal<Connection>('connecting');
  /** Older points, one per minute: from the gateway's history, then live points that aged. */
  private readonly _past = signal<readonly Sample[]>([]);
  private readonly _live = signal<readonly Sample[]>([]);
  private readonly _receivedAt = signal<number>(0);

  /** The newest document, null until the first one arrived. */
  readonly state = this._state.asReadonly();
  readonly connection = this._connection.asReadonly();
  /** The last day of PV, home and car power, oldest first: per minute, the last hour per 5 s. */
  readonly history = computed(() => joinHistory(this._past(), this._live()));
  /** Browser time (ms) of the newest document. */
  readonly receivedAt = this._receivedAt.asReadonly();
  readonly connected = computed(() => this._connection() === 'open');

  private source: EventSource | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private started = false;
  /** The gateway wants the token for reads too (`api.auth_read`): the stream then takes `?token=`. */
  private readsNeedToken = false;
  /** The user cancelled the token dialog for the stream: do not ask again on every retry. */
  private tokenDeclined = false;

  constructor() {
    inject(DestroyRef).onDestroy(() => this.stop());
  }

  /** Open the event stream (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.open();
    void this.loadHistory();
  }

  /** The last 24 h from the gateway's history file; without it the chart starts empty. */
  async loadHistory(): Promise<void> {
    try {
      const h = await firstValueFrom(this.http.get<PowerHistory>(HISTORY_URL));
      const past = historySamples(h);
      this._past.update((p) => thin([...past, ...p], Date.now()));
    } catch {
      // no history (none kept, file unusable, token needed): the chart fills from the live events
    }
  }

  setMinSoc(soc: number): Promise<void> {
    return this.put('min_soc', soc);
  }

  setLimitSoc(soc: number): Promise<void> {
    return this.put('limit_soc', soc);
  }

  /** `null` clears the plan. */
  setPlan(plan: PlanSetting | null): Promise<void> {
    return this.put('plan', plan);
  }

  /** Per kWh; `null` turns the price limit off. */
  setPriceLimit(limit: number | null): Promise<void> {
    return this.put('price_limit', limit);
  }

  sessions(page: number, pageSize: number): Promise<SessionsPage> {
    return firstValueFrom(
      this.http.get<SessionsPage>(`${API_BASE}/sessions`, {
        params: { page, page_size: pageSize },
      }),
    );
  }

  sessionTotals(): Promise<SessionTotals> {
    return firstValueFrom(this.http.get<SessionTotals>(`${API_BASE}/sessions/totals`));
  }

  stop(): void {
    this.started = false;
    this.clearTimers();
    this.source?.close();
    this.source = null;
  }

  setDesiredMode(mode: ChargeMode): Promise<void> {
    return this.put('desired_mode', mode);
  }

  setPhaseMode(mode: PhaseMode): Promise<void> {
    return this.put('phase_mode', mode);
  }

  setDesiredPriority(priority: Priority): Promise<void> {
    return this.put('desired_priority', priority);
  }

  /** Handle one `state` event's data (public for tests). */
  receive(data: string, now = Date.now()): void {
    let doc: PvControlDoc;
    try {
      doc = JSON.parse(data) as PvControlDoc;
    } catch {
      return;
    }
    if (!doc || typeof doc !== 'object' || !doc.meter || !doc.controller) return;
    this._state.set(doc);
    this._receivedAt.set(now);
    this._connection.set('open');
    this.failures = 0;
    this.armWatchdog();
    this.record(doc, now);
  }

  /** PUT a setting; on 401 ask for the token (again, if the stored one was refused) and retry. */
  private async put(name: string, value: unknown): Promise<void> {
    for (;;) {
      const sentWith = this.auth.token();
      try {
        await firstValueFrom(
          this.http.put<void>(`${API_BASE}/controller/${name}`, JSON.stringify(value), {
            headers: { 'Content-Type': 'application/json' },
          }),
        );
        return;
      } catch (err) {
        if (!(err instanceof HttpErrorResponse) || err.status !== 401) throw err;
        if ((await this.auth.ask(sentWith !== null)) === null) throw err;
      }
    }
  }

  private eventsUrl(): string {
    const token = this.auth.token();
    return this.readsNeedToken && token
      ? `${EVENTS_URL}?token=${encodeURIComponent(token)}`
      : EVENTS_URL;
  }

  private open(): void {
    this.clearTimers();
    this.source?.close();
    const es = this.createEventSource(this.eventsUrl());
    this.source = es;
    es.addEventListener('state', (e) => this.receive((e as MessageEvent<string>).data));
    es.onopen = () => {
      this.armWatchdog();
    };
    es.onerror = () => {
      if (this.source !== es) return;
      this._connection.set('reconnecting');
      // The browser retries by itself unless the stream is CLOSED (e.g. an HTTP error status):
      // then open a new one with a growing delay.
      if (es.readyState === 2 /* CLOSED */) {
        void this.recover();
      }
    };
    this.armWatchdog();
  }

  /** The stream was refused: if the gateway wants a token for reads, get one, then reopen. */
  private async recover(): Promise<void> {
    if ((await this.readStatus(false)) === 401) {
      this.readsNeedToken = true;
      const refused = this.auth.token() === null || (await this.readStatus(true)) === 401;
      if (refused && !this.tokenDeclined) {
        this.tokenDeclined = (await this.auth.ask(this.auth.token() !== null)) === null;
      }
    }
    this.scheduleReopen();
  }

  /** HTTP status of a read, with or without the token (0: no answer). */
  private async readStatus(withToken: boolean): Promise<number> {
    try {
      await firstValueFrom(
        this.http.get(API_BASE, { context: new HttpContext().set(WITHOUT_TOKEN, !withToken) }),
      );
      return 200;
    } catch (err) {
      return err instanceof HttpErrorResponse ? err.status : 0;
    }
  }

  private scheduleReopen(): void {
    if (!this.started || this.retryTimer) return;
    this.source?.close();
    this.failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.started) this.open();
    }, delay);
  }

  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      this._connection.set('reconnecting');
      this.scheduleReopen();
    }, WATCHDOG_MS);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
  }

  private record(doc: PvControlDoc, now: number): void {
    const sample: Sample = {
      t: now,
      pv: doc.meter.power_pv ?? 0,
      home: doc.meter.power_consumption ?? 0,
      car: doc.wallbox?.power ?? 0,
    };
    this._live.update((h) => {
      const aged = h.filter((s) => s.t < now - HISTORY_MS);
      if (aged.length) this._past.update((p) => thin([...p, ...aged], now));
      const kept = h.filter((s) => s.t >= now - HISTORY_MS);
      // one point per SAMPLE_MS, plus a moving newest point
      if (kept.length >= 2 && now - kept[kept.length - 2].t < SAMPLE_MS) {
        kept[kept.length - 1] = sample;
        return kept;
      }
      kept.push(sample);
      return kept;
    });
  }
}

/** The gateway's per-minute history as chart points (browser time = the services' time). */
export function historySamples(h: PowerHistory): Sample[] {
  return (h.ts ?? []).map((ts, i) => ({
    t: ts * 1000,
    pv: h.power_pv[i] ?? 0,
    home: h.power_consumption[i] ?? 0,
    car: h.power_car[i] ?? 0,
  }));
}

/** One point per minute (the last of each), none older than a day before `now`, oldest first. */
export function thin(samples: readonly Sample[], now: number): Sample[] {
  const byMinute = new Map<number, Sample>();
  for (const s of samples) {
    if (s.t >= now - DAY_MS) byMinute.set(Math.floor(s.t / MINUTE_MS), s);
  }
  return [...byMinute.values()].sort((a, b) => a.t - b.t);
}

/** The older points up to where the live ones begin, then the live ones. */
export function joinHistory(past: readonly Sample[], live: readonly Sample[]): readonly Sample[] {
  if (!live.length) return past;
  if (!past.length) return live;
  const first = live[0].t;
  return [...past.filter((s) => s.t < first), ...live];
}
