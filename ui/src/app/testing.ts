import { PvControlDoc } from './models';

/** A stand-in for the browser's EventSource, driven by the tests. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;

  readyState = 0;
  onopen: ((e: Event) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  closed = false;
  private listeners = new Map<string, ((e: MessageEvent) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  static latest(): FakeEventSource {
    return FakeEventSource.instances[FakeEventSource.instances.length - 1];
  }

  static reset(): void {
    FakeEventSource.instances = [];
  }

  addEventListener(type: string, fn: (e: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  /** Simulate the server: open the stream and send one `state` event. */
  emit(doc: PvControlDoc | string): void {
    if (this.readyState !== 1) {
      this.readyState = 1;
      this.onopen?.(new Event('open'));
    }
    const data = typeof doc === 'string' ? doc : JSON.stringify(doc);
    for (const fn of this.listeners.get('state') ?? []) {
      fn(new MessageEvent('state', { data }));
    }
  }

  /** Simulate a network error; `closed` = the browser gave up (e.g. HTTP error status). */
  fail(closed = false): void {
    this.readyState = closed ? 2 : 0;
    this.onerror?.(new Event('error'));
  }
}

export const factory = (url: string) => new FakeEventSource(url) as unknown as EventSource;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A complete, healthy document; `patch` overrides parts of it. */
export function makeDoc(patch: DeepPartial<PvControlDoc> = {}): PvControlDoc {
  const ts = 1_800_000_000;
  const base: PvControlDoc = {
    version: '1.2.3',
    controller: {
      ts,
      error: 0,
      mode: 'OFF',
      desired_mode: 'MANUAL',
      phase_mode: 'AUTO',
      priority: 'CAR',
      desired_priority: 'AUTO',
      allow_charging_wish: null,
      allow_charging_delay: null,
    },
    meter: {
      ts,
      error: 0,
      power_pv: 2500,
      power_consumption: 700,
      power_grid: -1200,
      power_battery: -600,
      soc_battery: 64,
    },
    wallbox: {
      ts,
      error: 0,
      wb_error: 0,
      car_status: 3,
      max_current: 6,
      allow_charging: false,
      phases_in: 1,
      phases_out: 0,
      power: 0,
      charged_energy: 0,
      total_energy: 0,
      temperature: 21.4,
    },
    relay: { ts, error: 0, enabled: true, phase_relay: false, phases: 1 },
    car: { ts, error: 0, soc: 42, cruising_range: 180 },
    status: {
      controller: 'online',
      meter: 'online',
      wallbox: 'online',
      relay: 'online',
      car: 'online',
    },
    energy_today: { pv: 3200, grid: 800 },
  };
  const out = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && cur && typeof cur === 'object' ? { ...cur, ...v } : v;
  }
  return out as unknown as PvControlDoc;
}
