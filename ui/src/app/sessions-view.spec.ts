import { ChargingSession } from './models';
import { duration, energyText, monthName, monthView, sessionView, shareBar } from './sessions-view';

describe('sessions view functions', () => {
  const session: ChargingSession = {
    id: 7,
    started_at: new Date(2026, 10, 24, 18, 5).getTime() / 1000,
    ended_at: new Date(2026, 10, 24, 20, 10).getTime() / 1000,
    open: false,
    energy_wh: 8000,
    pv_wh: 5000,
    battery_wh: 1000,
    grid_wh: 2000,
    solar_share: 0.75,
    cost: 1.08,
    soc_start: 40,
    soc_end: 62.4,
    phases: [1, 3],
    peak_power_w: 11_000,
  };

  it('splits the bar into solar, home battery and grid, and says the solar share', () => {
    expect(shareBar(session)).toEqual({ pv: 62.5, battery: 12.5, grid: 25, text: '75 % solar' });
    expect(shareBar({ energy_wh: 0, pv_wh: 0, battery_wh: 0, grid_wh: 0 }).text).toBe('');
  });

  it('describes a session', () => {
    expect(sessionView(session, 0)).toEqual({
      id: 7,
      title: 'Tue 24 Nov 18:05',
      detail: '2 h 05 min · 40 → 62 % · 1/3 ph · peak 11.0 kW',
      energy: '8.0 kWh',
      cost: '1.08',
      bar: shareBar(session),
      open: false,
    });
    const open = { ...session, ended_at: null, open: true, soc_end: null, phases: [] };
    expect(sessionView(open, (session.started_at + 35 * 60) * 1000).detail).toBe(
      'charging for 35 min · peak 11.0 kW',
    );
  });

  it('describes a month', () => {
    expect(monthName('2026-11')).toBe('Nov 2026');
    expect(duration(59)).toBe('1 min');
    expect(energyText(349.6)).toBe('350 Wh');
    expect(energyText(999.6)).toBe('1.0 kWh');
    expect(
      monthView({
        month: '2026-11',
        sessions: 1,
        energy_wh: 8000,
        pv_wh: 8000,
        battery_wh: 0,
        grid_wh: 0,
        solar_share: 1,
        cost: 0.64,
      }),
    ).toMatchObject({ title: 'Nov 2026', detail: '1 session', energy: '8.0 kWh', cost: '0.64' });
  });
});
