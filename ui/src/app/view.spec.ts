import { mdiAlertCircleOutline, mdiPowerPlugOffOutline, mdiTransmissionTowerImport } from '@mdi/js';

import { makeDoc } from './testing';
import {
  batteryView,
  carView,
  countdownText,
  energySplit,
  gridView,
  kw,
  phaseCaptionText,
  wallboxView,
} from './view';

describe('view functions', () => {
  it('formats power in kW with one decimal', () => {
    expect(kw(1234)).toBe('1.2');
    expect(kw(undefined)).toBe('0.0');
  });

  it('says import, export or balanced in words', () => {
    expect(gridView(makeDoc({ meter: { power_grid: 1500 } }).meter)).toEqual({
      value: '1.5',
      detail: 'importing',
      icon: mdiTransmissionTowerImport,
      tone: 'bad',
    });
    expect(gridView(makeDoc({ meter: { power_grid: -800 } }).meter).detail).toBe('exporting');
    expect(gridView(makeDoc({ meter: { power_grid: 30 } }).meter).detail).toBe('balanced');
  });

  it('describes the home battery', () => {
    const m = (soc: number, p: number) =>
      makeDoc({ meter: { soc_battery: soc, power_battery: p } }).meter;
    expect(batteryView(m(64, 700)).detail).toBe('discharging 0.7 kW');
    expect(batteryView(m(64, -600))).toMatchObject({ detail: 'charging 0.6 kW', tone: 'good' });
    expect(batteryView(m(10, 0))).toMatchObject({ detail: 'idle', tone: 'warn', soc: '10' });
  });

  it("shows the car's SOC, or without one the session's energy instead of 0 %", () => {
    const car = (patch: object) => carView({ ...makeDoc().car, ...patch });
    expect(car({})).toEqual({ value: '42', unit: '%', detail: 'range 180 km' });
    expect(car({ soc: 0, soc_known: true })).toMatchObject({ value: '0', unit: '%' });
    expect(car({ soc: 0, soc_known: false, session_energy: 1250 })).toEqual({
      value: '1.3',
      unit: 'kWh',
      detail: 'SOC unknown, charged this session',
    });
    expect(car({ soc: 0, soc_known: false, session_energy: null })).toEqual({
      value: '—',
      unit: '',
      detail: 'SOC unknown',
    });
    expect(car({ soc: 0, soc_known: false })).toMatchObject({ value: '—', detail: 'SOC unknown' });
    expect(carView(undefined)).toMatchObject({ value: '0', unit: '%' });
  });

  it('names the wallbox state, or phases × current while charging', () => {
    const wb = (patch: object) => wallboxView({ ...makeDoc().wallbox, ...patch });
    expect(wb({ phases_out: 3, max_current: 10, power: 6900 })).toMatchObject({
      charging: true,
      current: '3 × 10 A',
      power: '6.9 kW',
    });
    expect(wb({ car_status: 1 })).toMatchObject({ text: 'No car', icon: mdiPowerPlugOffOutline });
    expect(wb({ wb_error: 3 })).toMatchObject({
      text: 'Error: phase',
      icon: mdiAlertCircleOutline,
    });
    expect(wb({ car_status: 9 }).text).toBe('Unknown');
    expect(wallboxView(undefined).text).toBe('—');
  });

  it('counts down from the controller delay, by the service clocks, then the browser clock', () => {
    const doc = makeDoc({ controller: { allow_charging_wish: true, allow_charging_delay: 90 } });
    expect(countdownText(doc, 0)).toBe('Charging starts in 90 s');
    expect(countdownText(doc, 5000)).toBe('Charging starts in 85 s');
    doc.meter.ts += 7;
    expect(countdownText(doc, 0)).toBe('Charging starts in 83 s');
    expect(countdownText(doc, 100_000)).toBe('Charging starts shortly');
    expect(countdownText(makeDoc(), 0)).toBeNull();
    expect(countdownText(null, 0)).toBeNull();
  });

  it('splits energy by source for the bar, without a bar below 50 Wh', () => {
    expect(energySplit(3000, 1000)).toEqual({
      pv: '3.0',
      grid: '1.0',
      total: '4.0',
      pvShare: 75,
      gridShare: 25,
    });
    expect(energySplit(20, 10)).toMatchObject({ pvShare: 0, gridShare: 0 });
  });

  it('captions the phases', () => {
    expect(phaseCaptionText('3 phases', true, 1)).toBe('Switching to 3 phases…');
    expect(phaseCaptionText(null, false, 1)).toBe('Phase switching not available (relay disabled)');
    expect(phaseCaptionText(null, true, 1)).toBe('Wallbox uses 1 phase');
    expect(phaseCaptionText(null, true, 3)).toBe('Wallbox uses 3 phases');
  });
});
