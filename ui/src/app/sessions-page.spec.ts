import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';

import { ChargingSession, SessionTotals } from './models';
import { PAGE_SIZE, SessionsPage } from './sessions-page';

describe('SessionsPage', () => {
  let fixture: ComponentFixture<SessionsPage>;
  let el: HTMLElement;
  let http: HttpTestingController;

  const session = (id: number): ChargingSession => ({
    id,
    started_at: new Date(2026, 10, 24, 18, 5).getTime() / 1000 - id * 86_400,
    ended_at: new Date(2026, 10, 24, 19, 5).getTime() / 1000 - id * 86_400,
    open: false,
    energy_wh: 4000,
    pv_wh: 3000,
    battery_wh: 0,
    grid_wh: 1000,
    solar_share: 0.75,
    cost: 0.54,
    soc_start: null,
    soc_end: null,
    phases: [3],
    peak_power_w: 4100,
  });
  const totals: SessionTotals = {
    months: [
      {
        month: '2026-11',
        sessions: 2,
        energy_wh: 8000,
        pv_wh: 6000,
        battery_wh: 0,
        grid_wh: 2000,
        solar_share: 0.75,
        cost: 1.08,
      },
    ],
    total: {
      sessions: 2,
      energy_wh: 8000,
      pv_wh: 6000,
      battery_wh: 0,
      grid_wh: 2000,
      solar_share: 0.75,
      cost: 1.08,
    },
  };
  const page = (n: number, sessions: ChargingSession[], total: number) => ({
    page: n,
    page_size: PAGE_SIZE,
    total,
    tariff: { grid_price: 0.3, feed_in_tariff: 0.08 },
    sessions,
  });
  const settle = async () => {
    await new Promise((r) => setTimeout(r));
    await fixture.whenStable();
  };

  beforeEach(async () => {
    await TestBed.configureTestingModule({
      imports: [SessionsPage],
      providers: [provideHttpClient(), provideHttpClientTesting()],
    }).compileComponents();
    http = TestBed.inject(HttpTestingController);
    fixture = TestBed.createComponent(SessionsPage);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
  });

  afterEach(() => http.verify());

  it('lists the month totals and the sessions with their solar share, and pages on', async () => {
    http.expectOne('api/pvcontrol/sessions/totals').flush(totals);
    http
      .expectOne(`api/pvcontrol/sessions?page=1&page_size=${PAGE_SIZE}`)
      .flush(page(1, [session(1)], 2));
    await settle();
    const months = [...el.querySelectorAll('[data-testid=months] li *')].map((e) =>
      e.children.length ? '' : e.textContent?.trim(),
    );
    expect(months.filter(Boolean)).toEqual([
      'Nov 2026',
      '2 sessions',
      '8.0 kWh',
      'cost 1.08',
      '75 % solar',
    ]);
    const rows = el.querySelectorAll('[data-testid=session]');
    expect(rows.length).toBe(1);
    expect(rows[0].textContent).toContain('4.0 kWh');
    expect(rows[0].querySelector('.bar')?.getAttribute('aria-label')).toBe('75 % solar');
    el.querySelector<HTMLElement>('#sessionsMore')!.click();
    http
      .expectOne(`api/pvcontrol/sessions?page=2&page_size=${PAGE_SIZE}`)
      .flush(page(2, [session(2)], 2));
    await settle();
    expect(el.querySelectorAll('[data-testid=session]').length).toBe(2);
    expect(el.querySelector('#sessionsMore')).toBeNull();
  });

  it('says why there is no history', async () => {
    const refused = { status: 503, statusText: 'Service Unavailable' };
    const detail = { detail: 'no history: file is not a database' };
    http.expectOne('api/pvcontrol/sessions/totals').flush(detail, refused);
    http.expectOne(`api/pvcontrol/sessions?page=1&page_size=${PAGE_SIZE}`).flush(detail, refused);
    await settle();
    expect(el.querySelector('[data-testid=sessions-error]')?.textContent).toContain(
      'History not available: no history: file is not a database',
    );
  });
});
