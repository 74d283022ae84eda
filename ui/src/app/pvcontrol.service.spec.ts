import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';

import { TOKEN_KEY, TOKEN_PROMPT, authInterceptor } from './auth';
import {
  DAY_MS,
  EVENT_SOURCE_FACTORY,
  HISTORY_MS,
  HISTORY_URL,
  MINUTE_MS,
  PvControlService,
  WATCHDOG_MS,
  historySamples,
  joinHistory,
  thin,
} from './pvcontrol.service';
import { FakeEventSource, factory, makeDoc } from './testing';

describe('PvControlService', () => {
  let svc: PvControlService;
  let http: HttpTestingController;
  /** What the fake token dialog answers, in turn; each call's `rejected` flag is recorded. */
  let answers: (string | null)[];
  let prompts: boolean[];

  beforeEach(() => {
    FakeEventSource.reset();
    localStorage.clear();
    answers = [];
    prompts = [];
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(withInterceptors([authInterceptor])),
        provideHttpClientTesting(),
        { provide: EVENT_SOURCE_FACTORY, useValue: factory },
        {
          provide: TOKEN_PROMPT,
          useValue: (rejected: boolean) => {
            prompts.push(rejected);
            return Promise.resolve(answers.shift() ?? null);
          },
        },
      ],
    });
    svc = TestBed.inject(PvControlService);
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    svc.stop();
    // the chart's history, asked for at start (tested below)
    http.match(HISTORY_URL).forEach((r) => r.flush({ ts: [] }));
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

  /** The service asks whether reads need a token after the stream was refused: they do not. */
  async function readsAreOpen(): Promise<void> {
    const read = http.expectOne('api/pvcontrol');
    expect(read.request.headers.has('Authorization')).toBe(false);
    read.flush(makeDoc());
    await vi.advanceTimersByTimeAsync(0);
  }

  it('opens a new stream with back-off when the browser gave up', async () => {
    vi.useFakeTimers();
    svc.start();
    const first = FakeEventSource.latest();
    first.fail(true);
    expect(svc.connection()).toBe('reconnecting');
    await readsAreOpen();
    vi.advanceTimersByTime(999);
    expect(FakeEventSource.instances.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances.length).toBe(2);
    expect(first.closed).toBe(true);
    FakeEventSource.latest().fail(true);
    await readsAreOpen();
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

  it('opens the chart with the last 24 h from the gateway, then adds the live points', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.UTC(2026, 10, 28, 12, 0, 30);
    vi.setSystemTime(now);
    svc.start();
    const minute = Math.floor(now / MINUTE_MS) * 60 - 120;
    http.expectOne(HISTORY_URL).flush({
      interval: 60,
      ts: [minute - 86_400, minute, minute + 60],
      power_pv: [9, 1000, 2000],
      power_grid: [0, 0, 0],
      power_battery: [0, 0, 0],
      power_consumption: [9, 500, 600],
      power_car: [9, 0, 1400],
    });
    await new Promise((r) => setTimeout(r));
    // the day-old point is dropped; the others come first
    expect(svc.history()).toEqual([
      { t: minute * 1000, pv: 1000, home: 500, car: 0 },
      { t: (minute + 60) * 1000, pv: 2000, home: 600, car: 1400 },
    ]);
    svc.receive(JSON.stringify(makeDoc({ meter: { power_pv: 3000 } })), now);
    expect(svc.history().map((s) => s.pv)).toEqual([1000, 2000, 3000]);
  });

  it('starts the chart empty when the gateway keeps no history', async () => {
    svc.start();
    http
      .expectOne(HISTORY_URL)
      .flush({ detail: 'no history' }, { status: 503, statusText: 'Service Unavailable' });
    await new Promise((r) => setTimeout(r));
    expect(svc.history()).toEqual([]);
  });

  it('thins points older than the live hour to one a minute, for a day', () => {
    const p = (t: number, pv = 0) => ({ t, pv, home: 0, car: 0 });
    const now = 100 * DAY_MS;
    const thinned = thin(
      [p(now - DAY_MS - 1), p(now - 5 * MINUTE_MS), p(now - 5 * MINUTE_MS + 5000, 7)],
      now,
    );
    expect(thinned).toEqual([p(now - 5 * MINUTE_MS + 5000, 7)]);
    expect(joinHistory([p(1), p(5)], [p(4), p(6)]).map((s) => s.t)).toEqual([1, 4, 6]);
    expect(
      historySamples({
        interval: 60,
        ts: [60],
        power_pv: [1],
        power_grid: [2],
        power_battery: [3],
        power_consumption: [4],
        power_car: [5],
      }),
    ).toEqual([{ t: 60_000, pv: 1, home: 4, car: 5 }]);
  });

  it('keeps one chart point per 5 s for the last hour, then one a minute', () => {
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
    // the aged points 1 and 3 (one minute) are kept as the last of their minute
    expect(svc.history().map((s) => s.pv)).toEqual([3, 4, 5, 6]);
    const last = svc.history()[3];
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

  it('sends the car goals as JSON: numbers, a plan object or null', () => {
    void svc.setMinSoc(30);
    expect(http.expectOne('api/pvcontrol/controller/min_soc').request.body).toBe('30');
    void svc.setLimitSoc(80);
    expect(http.expectOne('api/pvcontrol/controller/limit_soc').request.body).toBe('80');
    void svc.setPlan({ soc: 80, time: '07:00', days: ['mon'] });
    expect(http.expectOne('api/pvcontrol/controller/plan').request.body).toBe(
      '{"soc":80,"time":"07:00","days":["mon"]}',
    );
    void svc.setPlan(null);
    expect(http.expectOne('api/pvcontrol/controller/plan').request.body).toBe('null');
    void svc.setPriceLimit(0.125);
    expect(http.expectOne('api/pvcontrol/controller/price_limit').request.body).toBe('0.125');
    void svc.setPriceLimit(null);
    expect(http.expectOne('api/pvcontrol/controller/price_limit').request.body).toBe('null');
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

  describe('with a token (api.auth_token)', () => {
    const put = () => http.expectOne('api/pvcontrol/controller/desired_mode');
    const unauthorized = { status: 401, statusText: 'Unauthorized' };
    const settle = () => new Promise((r) => setTimeout(r));

    it('sends no token while none is needed', async () => {
      const done = svc.setDesiredMode('PV_ONLY');
      const req = put();
      expect(req.request.headers.has('Authorization')).toBe(false);
      req.flush(null, { status: 204, statusText: 'No Content' });
      await done;
      expect(prompts).toEqual([]);
    });

    it('asks once on a 401, keeps the token and sends it from then on', async () => {
      answers = ['  s3cret  '];
      const done = svc.setDesiredMode('PV_ONLY');
      put().flush({ detail: 'missing or wrong token' }, unauthorized);
      await settle();
      expect(prompts).toEqual([false]);
      const retry = put();
      expect(retry.request.headers.get('Authorization')).toBe('Bearer s3cret');
      expect(retry.request.body).toBe('"PV_ONLY"');
      retry.flush(null, { status: 204, statusText: 'No Content' });
      await done;
      expect(localStorage.getItem(TOKEN_KEY)).toBe('s3cret');

      const next = svc.setDesiredPriority('CAR');
      const req = http.expectOne('api/pvcontrol/controller/desired_priority');
      expect(req.request.headers.get('Authorization')).toBe('Bearer s3cret');
      req.flush(null, { status: 204, statusText: 'No Content' });
      await next;
      expect(prompts).toEqual([false]);
    });

    it('uses a token kept from an earlier visit and asks again when it is refused', async () => {
      localStorage.setItem(TOKEN_KEY, 'old');
      TestBed.resetTestingModule();
      TestBed.configureTestingModule({
        providers: [
          provideHttpClient(withInterceptors([authInterceptor])),
          provideHttpClientTesting(),
          { provide: EVENT_SOURCE_FACTORY, useValue: factory },
          {
            provide: TOKEN_PROMPT,
            useValue: (rejected: boolean) => {
              prompts.push(rejected);
              return Promise.resolve(answers.shift() ?? null);
            },
          },
        ],
      });
      svc = TestBed.inject(PvControlService);
      http = TestBed.inject(HttpTestingController);
      answers = ['new'];
      const done = svc.setDesiredMode('MAX');
      const first = put();
      expect(first.request.headers.get('Authorization')).toBe('Bearer old');
      first.flush(null, unauthorized);
      await settle();
      expect(prompts).toEqual([true]); // the dialog says the token was not accepted
      const retry = put();
      expect(retry.request.headers.get('Authorization')).toBe('Bearer new');
      retry.flush(null, { status: 204, statusText: 'No Content' });
      await done;
      expect(localStorage.getItem(TOKEN_KEY)).toBe('new');
    });

    it('gives up with the 401 when the user cancels', async () => {
      answers = [null];
      const done = svc.setDesiredMode('MAX');
      put().flush(null, unauthorized);
      await expect(done).rejects.toMatchObject({ status: 401 });
      expect(prompts).toEqual([false]);
      expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    });

    it('opens the dialog once for several refused requests', async () => {
      answers = ['t'];
      const a = svc.setDesiredMode('MAX');
      const b = svc.setDesiredPriority('CAR');
      put().flush(null, unauthorized);
      http.expectOne('api/pvcontrol/controller/desired_priority').flush(null, unauthorized);
      await settle();
      expect(prompts).toEqual([false]);
      put().flush(null, { status: 204, statusText: 'No Content' });
      http
        .expectOne('api/pvcontrol/controller/desired_priority')
        .flush(null, { status: 204, statusText: 'No Content' });
      await Promise.all([a, b]);
    });

    it('passes the token to the event stream when reads need it (api.auth_read)', async () => {
      answers = ['r3ad'];
      vi.useFakeTimers();
      svc.start();
      FakeEventSource.latest().fail(true); // the gateway answered the stream with 401
      http.expectOne('api/pvcontrol').flush(null, unauthorized); // a read without token
      await vi.advanceTimersByTimeAsync(0);
      expect(prompts).toEqual([false]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(FakeEventSource.latest().url).toBe('api/pvcontrol/events?token=r3ad');
      FakeEventSource.latest().emit(makeDoc());
      expect(svc.connection()).toBe('open');
    });
  });
});
