import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';

import { GoalsCard } from './goals-card';
import { PvControlDoc } from './models';
import { EVENT_SOURCE_FACTORY, PvControlService } from './pvcontrol.service';
import { FakeEventSource, factory, makeDoc } from './testing';

describe('GoalsCard', () => {
  let fixture: ComponentFixture<GoalsCard>;
  let el: HTMLElement;
  let http: HttpTestingController;
  let svc: PvControlService;

  const text = (sel: string) => el.querySelector(sel)?.textContent?.replace(/\s+/g, ' ').trim();
  const settle = async () => {
    await new Promise((r) => setTimeout(r));
    await fixture.whenStable();
  };

  async function show(doc: PvControlDoc): Promise<void> {
    svc.receive(JSON.stringify(doc));
    await fixture.whenStable();
  }

  async function pick(selectId: string, option: string): Promise<void> {
    el.querySelector<HTMLElement>(`#${selectId} .mat-mdc-select-trigger`)!.click();
    await fixture.whenStable();
    const options = [...document.querySelectorAll<HTMLElement>('mat-option')];
    options.find((o) => o.textContent?.trim() === option)!.click();
    await fixture.whenStable();
  }

  beforeEach(async () => {
    FakeEventSource.reset();
    await TestBed.configureTestingModule({
      imports: [GoalsCard],
      providers: [
        provideHttpClient(),
        provideHttpClientTesting(),
        { provide: EVENT_SOURCE_FACTORY, useValue: factory },
      ],
    }).compileComponents();
    svc = TestBed.inject(PvControlService);
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(GoalsCard);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
  });

  afterEach(() => http.verify());

  it('shows the goals, the SOC source and the plan with its projection', async () => {
    await show(
      makeDoc({
        controller: {
          min_soc: 20,
          limit_soc: 80,
          soc: 35,
          soc_source: 'session energy',
          plan: {
            soc: 80,
            time: '07:00',
            days: ['mon', 'tue', 'wed', 'thu', 'fri'],
            achievable: true,
          },
        },
      }),
    );
    expect(text('#minSoc')).toContain('20 %');
    expect(text('#limitSoc')).toContain('80 %');
    expect(text('[data-testid=goals-soc]')).toBe(
      "35 % estimated from the session's energy (no car SOC)",
    );
    expect(text('[data-testid=plan-status]')).toBe('80 % by 07:00, Mo–Fr');
    expect(el.querySelector<HTMLInputElement>('#planTime')!.value).toBe('07:00');
    expect(el.querySelector('#planDay-mon button')?.getAttribute('aria-pressed')).toBe('true');
    expect(el.querySelector('#planDay-sat button')?.getAttribute('aria-pressed')).toBe('false');
    expect(el.querySelector('[data-testid=plan-warning]')).toBeNull();
  });

  it("shows the plan's grid slots and estimated cost in the tariff's currency", async () => {
    const start = new Date(2026, 10, 28, 2, 0).getTime() / 1000;
    await show(
      makeDoc({
        controller: {
          plan: {
            soc: 80,
            time: '07:00',
            days: [],
            slots: [
              { start, end: start + 3600, grid_price: 0.21 },
              { start: start + 7200, end: start + 9000, grid_price: 0.18 },
            ],
            cost_estimate: 1.9,
          },
        },
        tariff: { ts: start, error: 0, source: 'Tibber', currency: 'EUR', periods: [] },
      }),
    );
    const slots = [...el.querySelectorAll('.plan-slot')].map((s) => s.textContent?.trim());
    expect(slots).toEqual([
      expect.stringMatching(/02:00–03:00 @ 0\.210 €\/kWh$/),
      expect.stringMatching(/04:00–04:30 @ 0\.180 €\/kWh$/),
    ]);
    expect(text('[data-testid=plan-cost]')).toBe('estimated cost 1.90 €');
  });

  it('shows no slots without them', async () => {
    await show(makeDoc({ controller: { plan: { soc: 80, time: '07:00', days: [] } } }));
    expect(el.querySelector('[data-testid=plan-slots]')).toBeNull();
  });

  it('warns when the plan cannot be met', async () => {
    await show(
      makeDoc({ controller: { plan: { soc: 90, time: '06:00', days: [], achievable: false } } }),
    );
    expect(text('[data-testid=plan-warning]')).toContain('Cannot be met: 90 % by 06:00');
  });

  it('sends a new minimum and shows it pending until the controller reports it', async () => {
    await show(makeDoc());
    expect(text('#minSoc')).toContain('none');
    await pick('minSoc', '30 %');
    const req = http.expectOne('api/pvcontrol/controller/min_soc');
    expect(req.request.body).toBe('30');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await settle();
    expect(text('[data-testid=goals-caption]')).toContain('Waiting for the controller');
    await show(makeDoc({ controller: { min_soc: 30 } }));
    expect(text('[data-testid=goals-caption]')).toBe('');
  });

  it('says why a limit was refused and shows the reported one again', async () => {
    await show(makeDoc({ controller: { min_soc: 60 } }));
    await pick('limitSoc', '50 %');
    http
      .expectOne('api/pvcontrol/controller/limit_soc')
      .flush(
        { detail: 'limit 50 % is below the minimum of 60 %' },
        { status: 422, statusText: 'x' },
      );
    await settle();
    expect(document.body.textContent).toContain(
      'Could not change the limit: limit 50 % is below the minimum of 60 %',
    );
    expect(text('#limitSoc')).toContain('none');
  });

  it('saves a plan with a time and weekdays, and removes it', async () => {
    await show(makeDoc());
    const time = el.querySelector<HTMLInputElement>('#planTime')!;
    time.value = '06:45';
    time.dispatchEvent(new Event('change'));
    el.querySelector<HTMLElement>('#planDay-sat button')!.click();
    el.querySelector<HTMLElement>('#planDay-mon button')!.click();
    await fixture.whenStable();
    el.querySelector<HTMLElement>('#planSave')!.click();
    const req = http.expectOne('api/pvcontrol/controller/plan');
    expect(JSON.parse(req.request.body as string)).toEqual({
      soc: 80,
      time: '06:45',
      days: ['mon', 'sat'],
    });
    req.flush(null, { status: 204, statusText: 'No Content' });
    await show(makeDoc({ controller: { plan: { soc: 80, time: '06:45', days: ['mon', 'sat'] } } }));
    expect(text('[data-testid=goals-caption]')).toBe('');
    el.querySelector<HTMLElement>('#planClear')!.click();
    expect(http.expectOne('api/pvcontrol/controller/plan').request.body).toBe('null');
  });

  describe('price limit', () => {
    const now = Date.now() / 1000;
    const tariff = {
      ts: now,
      error: 0,
      source: 'Awattar',
      currency: 'EUR',
      periods: [{ start: now - 600, end: now + 3000, grid_price: 0.12, feed_in: 0.08 }],
    };
    const input = () => el.querySelector<HTMLInputElement>('#priceLimit')!;
    async function type(value: string): Promise<void> {
      input().value = value;
      input().dispatchEvent(new Event('change'));
      await fixture.whenStable();
    }

    it('is off by default, in the tariff currency', async () => {
      await show(makeDoc({ tariff: { ...tariff, currency: 'GBP' } }));
      expect(input().value).toBe('');
      expect(text('.price')).toContain('£/kWh');
      expect(el.querySelector('#priceLimitClear')).toBeNull();
      expect(text('[data-testid=price-limit-status]')).toBe(
        'Off: the grid price does not start charging',
      );
    });

    it('shows the reported limit and says when it is active now', async () => {
      await show(makeDoc({ controller: { price_limit: 0.15, mode: 'PV_ONLY' }, tariff }));
      expect(input().value).toBe('0.15');
      expect(text('.price')).toContain('€/kWh');
      const status = el.querySelector('[data-testid=price-limit-status]')!;
      expect(status.textContent?.trim()).toBe(
        'Active now: the grid price 0.120 €/kWh is at or below the limit',
      );
      expect(status.classList).toContain('active');
      await show(makeDoc({ controller: { price_limit: 0.1, mode: 'PV_ONLY' }, tariff }));
      expect(text('[data-testid=price-limit-status]')).toBe(
        'Not now: the grid price is 0.120 €/kWh',
      );
      expect(status.classList).not.toContain('active');
    });

    it('sends a typed limit, pending until the controller reports it, and clears it', async () => {
      await show(makeDoc({ tariff }));
      await type('0.125');
      const req = http.expectOne('api/pvcontrol/controller/price_limit');
      expect(req.request.method).toBe('PUT');
      expect(req.request.body).toBe('0.125');
      req.flush(null, { status: 204, statusText: 'No Content' });
      await settle();
      expect(text('[data-testid=goals-caption]')).toBe(
        'Waiting for the controller to take the price limit…',
      );
      await show(makeDoc({ controller: { price_limit: 0.125 }, tariff }));
      expect(text('[data-testid=goals-caption]')).toBe('');

      el.querySelector<HTMLElement>('#priceLimitClear')!.click();
      expect(http.expectOne('api/pvcontrol/controller/price_limit').request.body).toBe('null');
      await show(makeDoc({ controller: { price_limit: 0.125 }, tariff }));
      expect(input().value).toBe('');
    });

    it('turns it off when the field is emptied', async () => {
      await show(makeDoc({ controller: { price_limit: 0.2 }, tariff }));
      await type('');
      expect(http.expectOne('api/pvcontrol/controller/price_limit').request.body).toBe('null');
    });

    it('sends nothing for the same value or what is no number', async () => {
      await show(makeDoc({ controller: { price_limit: 0.2 }, tariff }));
      await type('0.20');
      // what a browser's number field holds after letters (jsdom drops them without saying so)
      Object.defineProperty(input(), 'validity', { value: { badInput: true }, configurable: true });
      await type('');
      http.expectNone('api/pvcontrol/controller/price_limit');
      expect(input().value).toBe('0.2');
      expect(document.body.textContent).toContain('The price limit needs a number (€/kWh)');
    });

    it('says why a limit was refused and shows the reported one again', async () => {
      await show(makeDoc({ controller: { price_limit: 0.2 }, tariff }));
      await type('25');
      http
        .expectOne('api/pvcontrol/controller/price_limit')
        .flush(
          { detail: 'price limit 25 is beyond -10..10 per kWh' },
          { status: 422, statusText: 'x' },
        );
      await settle();
      expect(document.body.textContent).toContain(
        'Could not change the price limit: price limit 25 is beyond -10..10 per kWh',
      );
      expect(input().value).toBe('0.2');
      expect(text('[data-testid=goals-caption]')).toBe('');
    });
  });
});
