import { serviceHealth } from './models';
import { makeDoc } from './testing';

describe('serviceHealth', () => {
  it('is ok for a fresh, error-free reading of an online service', () => {
    expect(serviceHealth(makeDoc(), 'meter')).toBe('ok');
  });

  it('is offline without a document or when the service is offline', () => {
    expect(serviceHealth(null, 'meter')).toBe('offline');
    expect(serviceHealth(makeDoc({ status: { meter: 'offline' } }), 'meter')).toBe('offline');
  });

  it('is stale when the service reports read errors', () => {
    expect(serviceHealth(makeDoc({ wallbox: { error: 2 } }), 'wallbox')).toBe('stale');
  });

  it('is stale when its reading lags far behind the others', () => {
    const doc = makeDoc();
    doc.meter.ts -= 120;
    expect(serviceHealth(doc, 'meter')).toBe('stale');
    doc.meter.ts += 60;
    expect(serviceHealth(doc, 'meter')).toBe('ok');
  });

  it('does not call the car stale for its slow polling', () => {
    const doc = makeDoc();
    doc.car.ts -= 600;
    expect(serviceHealth(doc, 'car')).toBe('ok');
  });

  it('works without the status extension', () => {
    const doc = makeDoc();
    delete doc.status;
    expect(serviceHealth(doc, 'meter')).toBe('ok');
  });
});
