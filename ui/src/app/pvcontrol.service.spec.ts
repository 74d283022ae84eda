import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import {
  EVENT_SOURCE_FACTORY,
  HISTORY_MS,
  PvControlService,
  WATCHDOG_MS,
} from './pvcontrol.service';
import { FakeEventSource, factory, makeDoc } from './testing';

describe('PvControlService', () => {
  let svc: PvControlService;
  let http: HttpTestingController;

  beforeEach(() => {
    FakeEventSource.reset();
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: EVENT_SOURCE_FACTORY, useValue: factory },
      ],
    });
    svc = TestBed.inject(PvControlService);
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    svc.stop();
    http.verify();
    vi.useRealTimers();
  });

  it('opens the event stream relative to the base href, once', () => {
    svc.start();
    svc.start();
    expect(FakeEventSource.instances.length).toBe(1);
    expect(FakeEventSource.latest().url).toBe('api/pvcontrol/events');
    expect(svc.connection()).toBe('connecting');
    expect(svc.state()).toBeNull();
  });

  it('takes each state event as the new document', () => {
    svc.start();
    FakeEventSource.latest().emit(makeDoc({ meter: { power_pv: 1234 } }));
    expect(svc.state()?.meter.power_pv).toBe(1234);
    expect(svc.connection()).toBe('open');
    FakeEventSource.latest().emit(makeDoc({ meter: { power_pv: 99 } }));
    expect(svc.state()?.meter.power_pv).toBe(99);
  });

  it('ignores malformed events', () => {
    svc.start();
    FakeEventSource.latest().emit(makeDoc());
    FakeEventSource.latest().emit('not json');
    FakeEventSource.latest().emit('{"foo": 1}');
    expect(svc.state()?.version).toBe('1.2.3');
  });

  it('reports a lost connection and lets the browser retry while it can', () => {
    svc.start();
    const es = FakeEventSource.latest();
    es.emit(makeDoc());
    es.fail(false);
    expect(svc.connection()).toBe('reconnecting');
    expect(FakeEventSource.instances.length).toBe(1);
    es.emit(makeDoc());
    expect(svc.connection()).toBe('open');
  });

  it('opens a new stream with back-off when the browser gave up', () => {
    vi.useFakeTimers();
    svc.start();
    const first = FakeEventSource.latest();
    first.fail(true);
    expect(svc.connection()).toBe('reconnecting');
    vi.advanceTimersByTime(999);
    expect(FakeEventSource.instances.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances.length).toBe(2);
    expect(first.closed).toBe(true);
    FakeEventSource.latest().fail(true);
    vi.advanceTimersByTime(1999);
    expect(FakeEventSource.instances.length).toBe(2);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances.length).toBe(3);
    FakeEventSource.latest().emit(makeDoc());
    expect(svc.connection()).toBe('open');
  });

  it('reopens a stream that went silent', () => {
    vi.useFakeTimers();
    svc.start();
    FakeEventSource.latest().emit(makeDoc());
    vi.advanceTimersByTime(WATCHDOG_MS - 1);
    expect(svc.connection()).toBe('open');
    vi.advanceTimersByTime(1);
    expect(svc.connection()).toBe('reconnecting');
    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.instances.length).toBe(2);
  });

  it('keeps one chart point per 5 s for the last hour', () => {
    const t0 = 1_000_000_000;
    const at = (t: number, pv: number) =>
      svc.receive(JSON.stringify(makeDoc({ meter: { power_pv: pv } })), t0 + t);
    at(0, 1);
    at(1000, 2);
    at(2000, 3);
    expect(svc.history().map((s) => s.pv)).toEqual([1, 3]);
    at(6000, 4);
    expect(svc.history().map((s) => s.pv)).toEqual([1, 3, 4]);
    at(12_000, 5);
    expect(svc.history().map((s) => s.pv)).toEqual([1, 3, 4, 5]);
    at(HISTORY_MS + 3000, 6);
    expect(svc.history().map((s) => s.pv)).toEqual([4, 5, 6]);
    const last = svc.history()[2];
    expect(last).toEqual({ t: t0 + HISTORY_MS + 3000, pv: 6, home: 700, car: 0 });
  });

  it('sends settings as JSON strings', async () => {
    const done = svc.setDesiredMode('PV_ONLY');
    const req = http.expectOne('api/pvcontrol/controller/desired_mode');
    expect(req.request.method).toBe('PUT');
    expect(req.request.body).toBe('"PV_ONLY"');
    expect(req.request.headers.get('Content-Type')).toBe('application/json');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await done;

    void svc.setPhaseMode('CHARGE_3P');
    expect(http.expectOne('api/pvcontrol/controller/phase_mode').request.body).toBe('"CHARGE_3P"');
    void svc.setDesiredPriority('HOME_BATTERY');
    expect(http.expectOne('api/pvcontrol/controller/desired_priority').request.body).toBe(
      '"HOME_BATTERY"',
    );
  });

  it('rejects when the gateway refuses a setting', async () => {
    const done = svc.setDesiredMode('MAX');
    http.expectOne('api/pvcontrol/controller/desired_mode').flush(
      { detail: 'controller is offline' },
      {
        status: 503,
        statusText: 'Service Unavailable',
      },
    );
    await expect(done).rejects.toMatchObject({ status: 503 });
  });
});
