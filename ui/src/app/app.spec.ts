import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { DeferBlockBehavior, TestBed } from '@angular/core/testing';
import { ComponentFixture } from '@angular/core/testing';
import { mdiBattery, mdiBattery50, mdiBatteryOutline } from '@mdi/js';

import { App } from './app';
import { TOKEN_PROMPT } from './auth';
import { PvControlDoc } from './models';
import { EVENT_SOURCE_FACTORY, HISTORY_URL } from './pvcontrol.service';
import { FakeEventSource, factory, makeDoc } from './testing';
import { batteryIcon } from './view';
import { COMMAND_DEBOUNCE_MS } from './wallbox-card';

describe('App', () => {
  let fixture: ComponentFixture<App>;
  let el: HTMLElement;
  let http: HttpTestingController;
  /** Answers of the fake token dialog, in turn (null = cancelled). */
  let tokenAnswers: (string | null)[] = [];

  /** The text of an element, its parts separated by spaces (as a screen reader reads them). */
  const text = (sel: string) => {
    const root = el.querySelector(sel);
    if (!root) return '';
    const parts: string[] = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) parts.push(walker.currentNode.textContent ?? '');
    return parts
      .map((p) => p.trim())
      .filter(Boolean)
      .join(' ');
  };
  /** Wait until a (debounced) setting is sent. */
  const sent = () => new Promise((r) => setTimeout(r, COMMAND_DEBOUNCE_MS + 20));
  const button = (id: string) => el.querySelector<HTMLButtonElement>(`#${id} button`)!;
  const pressed = (id: string) => button(id).getAttribute('aria-checked');
  const health = (id: string) => el.querySelector(`#${id} mat-card`)?.getAttribute('data-health');

  async function send(doc: PvControlDoc): Promise<void> {
    FakeEventSource.latest().emit(doc);
    await fixture.whenStable();
  }

  beforeEach(async () => {
    FakeEventSource.reset();
    localStorage.clear();
    tokenAnswers = [];
    await TestBed.configureTestingModule({
      imports: [App],
      providers: [
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: EVENT_SOURCE_FACTORY, useValue: factory },
        {
          provide: TOKEN_PROMPT,
          useValue: () => Promise.resolve(tokenAnswers.shift() ?? null),
        },
      ],
      deferBlockBehavior: DeferBlockBehavior.Manual,
    }).compileComponents();
    fixture = TestBed.createComponent(App);
    el = fixture.nativeElement as HTMLElement;
    http = TestBed.inject(HttpTestingController);
    await fixture.whenStable();
  });

  afterEach(() => {
    // the chart's history, asked for at start (tested in pvcontrol.service.spec.ts)
    http.match(HISTORY_URL).forEach((r) => r.flush({ ts: [] }));
    http.verify();
    vi.useRealTimers();
  });

  it('says it is connecting until the first document arrives', async () => {
    expect(text('[data-testid=banner]')).toContain('Connecting');
    expect(button('chargeModeOFF').disabled).toBe(true);
    await send(makeDoc());
    expect(el.querySelector('[data-testid=banner]')).toBeNull();
    expect(text('[data-testid=connection]')).toBe('live');
  });

  it('shows the meter values with text, not only colour', async () => {
    await send(makeDoc());
    expect(text('#card-pv')).toContain('2.5 kW');
    expect(text('#card-grid')).toContain('1.2 kW');
    expect(text('#card-grid')).toContain('exporting');
    expect(text('#card-home')).toContain('0.7 kW');
    expect(text('#card-battery')).toContain('64 %');
    expect(text('#card-battery')).toContain('charging 0.6 kW');
    expect(text('#card-car')).toContain('42 %');
    expect(text('#card-car')).toContain('range 180 km');
    expect(text('#card-temp')).toContain('21 °C');
    await send(makeDoc({ car: { soc: 0, soc_known: false, session_energy: 4200 } }));
    expect(text('#card-car')).toContain('4.2 kWh');
    expect(text('#card-car')).toContain('SOC unknown');
    expect(text('#card-car')).not.toContain('%');
    await send(makeDoc({ meter: { power_grid: 3000, power_battery: 250 } }));
    expect(text('#card-grid')).toContain('3.0 kW');
    expect(text('#card-grid')).toContain('importing');
    expect(el.querySelector('#card-grid pvc-icon')?.classList).toContain('tone-bad');
    expect(text('#card-battery')).toContain('discharging 0.3 kW');
    expect(text('#card-battery')).not.toContain('full');
    await send(
      makeDoc({ controller: { home_battery: { needed_wh: 3200, full_by: 1_800_003_600 } } }),
    );
    expect(text('#card-battery')).toContain('charging 0.6 kW · not full today: needs 3.2 kWh');
  });

  it('shows the grid price now on the grid card', async () => {
    const now = Date.now() / 1000;
    const period = { start: now - 600, end: now + 3000, grid_price: 0.2841, feed_in: 0.08 };
    const tariff = { ts: now, error: 0, source: 'Awattar', currency: 'EUR', periods: [period] };
    await send(makeDoc({ meter: { power_grid: 3000 }, tariff }));
    expect(text('#card-grid')).toContain('0.284 €/kWh · importing');
    await send(makeDoc({ meter: { power_grid: 3000 }, tariff: null }));
    expect(text('#card-grid')).not.toContain('€');
  });

  it('picks the battery icon by level', () => {
    expect(batteryIcon(0)).toBe(mdiBatteryOutline);
    expect(batteryIcon(52)).toBe(mdiBattery50);
    expect(batteryIcon(100)).toBe(mdiBattery);
    expect(batteryIcon(140)).toBe(mdiBattery);
  });

  it('shows phases × current and power while charging', async () => {
    await send(
      makeDoc({
        wallbox: { car_status: 2, phases_in: 3, phases_out: 3, max_current: 16, power: 11040 },
      }),
    );
    expect(text('#car-max-current')).toBe('3 × 16 A');
    expect(text('#car-charge-power')).toBe('11.0 kW');
  });

  it('names the wallbox state when not charging', async () => {
    const cases: [Partial<PvControlDoc['wallbox']>, string][] = [
      [{ car_status: 1 }, 'No car'],
      [{ car_status: 3 }, 'Waiting'],
      [{ car_status: 4 }, 'Finished'],
      [{ car_status: 2, wb_error: 1 }, 'Error: RCCB'],
    ];
    for (const [wallbox, label] of cases) {
      await send(makeDoc({ wallbox }));
      expect(text('[data-testid=wallbox-status]')).toBe(label);
      expect(el.querySelector('#car-max-current')).toBeNull();
    }
  });

  it('greys out the meter cards, with a word, when the meter has errors or is offline', async () => {
    await send(makeDoc({ meter: { error: 3 } }));
    for (const id of ['card-pv', 'card-grid', 'card-home', 'card-battery']) {
      expect(health(id)).toBe('stale');
      expect(el.querySelector(`#${id} mat-card`)?.classList).toContain('unhealthy');
      expect(text(`#${id}`)).toContain('stale');
    }
    expect(health('card-car')).toBe('ok');
    await send(makeDoc({ status: { meter: 'offline' } }));
    expect(health('card-pv')).toBe('offline');
    expect(text('#card-pv')).toContain('offline');
    await send(makeDoc({ status: { wallbox: 'offline' } }));
    expect(health('card-pv')).toBe('ok');
    expect(health('card-temp')).toBe('offline');
    expect(el.querySelector('#card-wallbox')?.getAttribute('data-health')).toBe('offline');
    expect(text('[data-testid=wallbox-status]')).toContain('offline');
  });

  it('marks the effective charge mode, phases and priority', async () => {
    await send(
      makeDoc({ controller: { mode: 'PV_ALL', desired_mode: 'PV_ALL', priority: 'HOME_BATTERY' } }),
    );
    expect(pressed('chargeModePV_ALL')).toBe('true');
    expect(pressed('chargeModeOFF')).toBe('false');
    expect(text('[data-testid=mode-caption]')).toBe('Mode: PV all');
    expect(pressed('phaseModeAUTO')).toBe('true');
    expect(el.querySelector('#phaseModeCHARGE_1P')?.classList).toContain('effective');
    expect(el.querySelector('#phaseModeCHARGE_3P')?.classList).not.toContain('effective');
    expect(text('[data-testid=phase-caption]')).toBe('Wallbox uses 1 phase');
    expect(pressed('priorityAUTO')).toBe('true');
    expect(el.querySelector('#priorityHOME_BATTERY')?.classList).toContain('effective');
    expect(text('[data-testid=priority-caption]')).toBe('In use: Home battery');

    await send(
      makeDoc({ controller: { mode: 'MAX', phase_mode: 'CHARGE_3P' }, wallbox: { phases_in: 3 } }),
    );
    expect(pressed('chargeModeMAX')).toBe('true');
    expect(pressed('phaseModeCHARGE_3P')).toBe('true');
    expect(el.querySelector('#phaseModeCHARGE_3P')?.classList).toContain('effective');
    expect(text('[data-testid=phase-caption]')).toBe('Wallbox uses 3 phases');
  });

  it('disables phase switching when the relay is disabled', async () => {
    await send(makeDoc());
    expect(button('phaseModeCHARGE_3P').disabled).toBe(false);
    await send(makeDoc({ relay: { enabled: false, phases: 0 } }));
    expect(button('phaseModeCHARGE_3P').disabled).toBe(true);
    expect(text('[data-testid=phase-caption]')).toContain('not available');
    await send(makeDoc({ controller: { phase_mode: 'DISABLED' } }));
    expect(button('phaseModeAUTO').disabled).toBe(true);
  });

  it('sets the charge mode and shows it as pending until the controller takes it', async () => {
    await send(makeDoc());
    button('chargeModePV_ONLY').click();
    await sent();
    const req = http.expectOne('api/pvcontrol/controller/desired_mode');
    expect(req.request.method).toBe('PUT');
    expect(req.request.body).toBe('"PV_ONLY"');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await fixture.whenStable();
    // still the effective mode marked, the request shown as pending
    expect(pressed('chargeModeOFF')).toBe('true');
    expect(pressed('chargeModePV_ONLY')).toBe('false');
    expect(el.querySelector('#chargeModePV_ONLY')?.classList).toContain('pending');
    expect(text('[data-testid=mode-caption]')).toBe('Switching to PV only…');

    await send(makeDoc({ controller: { desired_mode: 'PV_ONLY', mode: 'OFF' } }));
    expect(text('[data-testid=mode-caption]')).toBe('Switching to PV only…');
    await send(
      makeDoc({ controller: { desired_mode: 'PV_ONLY', mode: 'PV_ONLY', ts: 1_800_000_001 } }),
    );
    expect(pressed('chargeModePV_ONLY')).toBe('true');
    expect(el.querySelector('#chargeModePV_ONLY')?.classList).not.toContain('pending');
    expect(text('[data-testid=mode-caption]')).toBe('Mode: PV only');
  });

  it('ends a pending request the controller turned into something else', async () => {
    await send(makeDoc());
    button('chargeModeMANUAL').click();
    await sent();
    http
      .expectOne('api/pvcontrol/controller/desired_mode')
      .flush(null, { status: 204, statusText: 'No Content' });
    await fixture.whenStable();
    await send(makeDoc({ controller: { desired_mode: 'MANUAL', mode: 'OFF' } }));
    expect(el.querySelector('#chargeModeMANUAL')?.classList).toContain('pending');
    // the next cycle: MANUAL with charging not allowed is shown as OFF
    await send(makeDoc({ controller: { desired_mode: 'MANUAL', mode: 'OFF', ts: 1_800_000_030 } }));
    expect(el.querySelector('#chargeModeMANUAL')?.classList).not.toContain('pending');
    expect(pressed('chargeModeOFF')).toBe('true');
  });

  it('tells when a setting was refused', async () => {
    await send(makeDoc());
    button('priorityCAR').click();
    await sent();
    http
      .expectOne('api/pvcontrol/controller/desired_priority')
      .flush(
        { detail: 'controller is offline' },
        { status: 503, statusText: 'Service Unavailable' },
      );
    await fixture.whenStable();
    await new Promise((r) => setTimeout(r));
    await fixture.whenStable();
    expect(el.querySelector('#priorityCAR')?.classList).not.toContain('pending');
    expect(pressed('priorityAUTO')).toBe('true');
    expect(document.body.textContent).toContain(
      'Could not change the priority: controller is offline',
    );
  });

  it('sets phase mode and priority', async () => {
    await send(makeDoc());
    button('phaseModeCHARGE_3P').click();
    await sent();
    expect(http.expectOne('api/pvcontrol/controller/phase_mode').request.body).toBe('"CHARGE_3P"');
    expect(text('[data-testid=phase-caption]')).toBe('Switching to 3 phases…');
    await send(makeDoc({ controller: { phase_mode: 'CHARGE_3P' } }));
    expect(pressed('phaseModeCHARGE_3P')).toBe('true');
    expect(text('[data-testid=phase-caption]')).toBe('Wallbox uses 1 phase');
    button('priorityHOME_BATTERY').click();
    await sent();
    expect(http.expectOne('api/pvcontrol/controller/desired_priority').request.body).toBe(
      '"HOME_BATTERY"',
    );
  });

  it('sends only the last of quickly repeated changes (arrow keys)', async () => {
    await send(makeDoc());
    button('chargeModePV_ONLY').click();
    button('chargeModePV_ALL').click();
    button('chargeModeMAX').click();
    await sent();
    expect(http.expectOne('api/pvcontrol/controller/desired_mode').request.body).toBe('"MAX"');
    expect(el.querySelector('#chargeModeMAX')?.classList).toContain('pending');
    expect(el.querySelector('#chargeModePV_ONLY')?.classList).not.toContain('pending');
  });

  it('counts down to the start or stop of charging', async () => {
    // a component whose clock is under the test's control
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    fixture.destroy();
    fixture = TestBed.createComponent(App);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    await send(makeDoc({ controller: { allow_charging_wish: true, allow_charging_delay: 90 } }));
    expect(text('[data-testid=countdown]')).toBe('Charging starts in 90 s');
    vi.advanceTimersByTime(5000);
    await fixture.whenStable();
    expect(text('[data-testid=countdown]')).toBe('Charging starts in 85 s');
    // newer readings of other services do not restart the countdown
    const later = makeDoc({ controller: { allow_charging_wish: true, allow_charging_delay: 90 } });
    later.meter.ts += 7;
    await send(later);
    expect(text('[data-testid=countdown]')).toBe('Charging starts in 83 s');
    await send(makeDoc({ controller: { allow_charging_wish: false, allow_charging_delay: 30 } }));
    expect(text('[data-testid=countdown]')).toBe('Charging stops in 30 s');
    await send(makeDoc({ controller: { allow_charging_wish: null, allow_charging_delay: null } }));
    expect(text('[data-testid=countdown]')).toBe('');
    await send(makeDoc({ controller: { allow_charging_wish: true, allow_charging_delay: 0 } }));
    expect(text('[data-testid=countdown]')).toBe('');
  });

  it("shows today's charged energy by source", async () => {
    await send(makeDoc({ energy_today: { pv: 3250, grid: 800 } }));
    expect(text('[data-testid=energy-today]')).toBe('PV 3.3 kWh Grid 0.8 kWh');
    const doc = makeDoc();
    delete doc.energy_today;
    await send(doc);
    expect(text('#card-today')).toContain('not available');
  });

  it('shows a banner while the connection is lost and removes it on reconnect', async () => {
    await send(makeDoc());
    FakeEventSource.latest().fail(false);
    await fixture.whenStable();
    const banner = el.querySelector('[data-testid=banner]');
    expect(banner?.getAttribute('role')).toBe('alert');
    expect(banner?.textContent).toContain('No connection');
    expect(text('[data-testid=connection]')).toBe('not live');
    await send(makeDoc());
    expect(el.querySelector('[data-testid=banner]')).toBeNull();
  });

  it('shows a banner and disables the settings while the controller is offline', async () => {
    await send(makeDoc({ status: { controller: 'offline' } }));
    expect(text('[data-testid=banner]')).toContain('Controller offline');
    expect(button('chargeModePV_ONLY').disabled).toBe(true);
    expect(button('priorityCAR').disabled).toBe(true);
    await send(makeDoc({ status: { controller: 'unknown' } }));
    expect(text('[data-testid=banner]')).toContain('Controller not responding');
    expect(button('chargeModePV_ONLY').disabled).toBe(true);
  });

  it('shows a banner when the gateway lost the broker', async () => {
    await send(makeDoc({ status: { api: 'offline' } }));
    expect(text('[data-testid=banner]')).toContain('MQTT broker');
  });

  it('labels every control group', async () => {
    await send(makeDoc());
    for (const id of ['chargeModeToggle', 'phaseModeToggle', 'priorityToggle']) {
      const group = el.querySelector(`#${id}`)!;
      const label = el.querySelector(`#${group.getAttribute('aria-labelledby')}`);
      expect(label?.textContent?.trim()).toBeTruthy();
    }
    expect(el.querySelectorAll('mat-button-toggle button').length).toBe(11);
  });

  it("shows the controller's reason under the charge mode while it gives one", async () => {
    await send(makeDoc());
    expect(el.querySelector('[data-testid=controller-reason]')).toBeNull();
    await send(makeDoc({ controller: { reason: 'starting in 20 s' } }));
    const reason = el.querySelector('[data-testid=controller-reason]');
    expect(reason?.textContent?.trim()).toBe('starting in 20 s');
    expect(reason?.getAttribute('aria-live')).toBe('polite');
    // right under the mode toggles, in the same setting block
    expect(reason?.closest('.setting')?.querySelector('#chargeModeToggle')).not.toBeNull();
    await send(makeDoc({ controller: { reason: null } }));
    expect(el.querySelector('[data-testid=controller-reason]')).toBeNull();
    await send(makeDoc({ controller: { reason: '  ' } }));
    expect(el.querySelector('[data-testid=controller-reason]')).toBeNull();
  });

  it('asks for the token on a 401 and sends the setting with it', async () => {
    tokenAnswers = ['s3cret'];
    await send(makeDoc());
    button('chargeModePV_ONLY').click();
    await sent();
    http
      .expectOne('api/pvcontrol/controller/desired_mode')
      .flush(null, { status: 401, statusText: 'Unauthorized' });
    await new Promise((r) => setTimeout(r));
    const retry = http.expectOne('api/pvcontrol/controller/desired_mode');
    expect(retry.request.body).toBe('"PV_ONLY"');
    retry.flush(null, { status: 204, statusText: 'No Content' });
    await fixture.whenStable();
    expect(localStorage.getItem('pvcontrol.token')).toBe('s3cret');
    expect(el.querySelector('#chargeModePV_ONLY')?.classList).toContain('pending');
  });

  it('tells that the token is needed when the dialog was cancelled', async () => {
    await send(makeDoc());
    button('priorityCAR').click();
    await sent();
    http
      .expectOne('api/pvcontrol/controller/desired_priority')
      .flush(null, { status: 401, statusText: 'Unauthorized' });
    await new Promise((r) => setTimeout(r));
    await fixture.whenStable();
    expect(el.querySelector('#priorityCAR')?.classList).not.toContain('pending');
    expect(document.body.textContent).toContain(
      'Could not change the priority: the token is needed',
    );
  });
});
