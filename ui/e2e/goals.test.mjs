// End-to-end: the goals card and the sessions page in a real Chromium against `pvcontrol all`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  PHONE,
  PVCONTROL,
  SCREENSHOT_DIR,
  Stack,
  checkPrerequisites,
  launchBrowser,
  mqttWatcher,
  openUi,
  startBroker,
  waitFor,
} from './stack.mjs';

const SET = (name) => `pvcontrol/controller/${name}/set`;

/** Three hours of per-minute power (PV 2 kW) in the history file, as the gateway would have kept. */
function seedHistory(dataDir) {
  const python = path.join(path.dirname(PVCONTROL), 'python');
  const script = `
import sys, time
from pathlib import Path
from services.api.history.store import HistoryStore, PowerSample
store = HistoryStore(Path(sys.argv[1]) / "pvcontrol-history.sqlite")
now = int(time.time() // 60) * 60
for ts in range(now - 3 * 3600, now - 120, 60):
    store.add_sample(PowerSample(ts, 2000.0, -500.0, 0.0, 1500.0, 0.0))
store.close()
`;
  execFileSync(python, ['-c', script, dataDir]);
}

/** Horizontal overflow of the page, and clipped labels. */
function overflow() {
  const w = window.innerWidth;
  return {
    scrollX: document.documentElement.scrollWidth > w,
    outside: [...document.querySelectorAll('mat-card, mat-button-toggle, button, mat-form-field')]
      .filter((e) => e.getBoundingClientRect().right > w + 0.5)
      .map((e) => e.id || e.className.split(' ')[0]),
  };
}

describe('goals card and sessions page against `pvcontrol all`', { timeout: 180_000 }, () => {
  let broker;
  let stack;
  let browser;
  let page;
  let watcher;

  const api = (p, init) => fetch(`${stack.base}/api/pvcontrol${p}`, init);
  const put = (p, body) =>
    api(`/controller/${p}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  before(async () => {
    checkPrerequisites();
    broker = await startBroker();
    stack = new Stack(broker.url);
    seedHistory(stack.dataDir);
    await stack.start();
    watcher = await mqttWatcher(broker.url, [SET('min_soc'), SET('limit_soc'), SET('plan')]);
    browser = await launchBrowser();
    page = await openUi(browser, stack.base, { viewport: PHONE });
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
  });

  after(async () => {
    if (page) assert.deepEqual(page.consoleErrors, [], 'no errors in the browser console');
    await browser?.close();
    await watcher?.client.endAsync();
    await stack?.stop();
    await broker?.proc.stop();
  });

  it("shows the Fixed tariff's price now on the grid card and the chart", async () => {
    const price = /\d\.\d{3} €\/kWh/;
    await page.waitForFunction(
      (re) => new RegExp(re).test(document.querySelector('#card-grid')?.textContent ?? ''),
      price.source,
      { timeout: 30_000 },
    );
    await page.waitForFunction(
      (re) =>
        new RegExp(`grid price now ${re}`).test(
          document.querySelector('pvc-live-chart canvas')?.getAttribute('aria-label') ?? '',
        ),
      price.source,
      { timeout: 30_000 },
    );
  });

  it('sets a minimum SOC, a limit, a departure plan and a price limit from the goals card', async () => {
    await page.click('#nav-goals');
    await page.waitForSelector('#card-goals');
    assert.equal(new URL(page.url()).hash, '#goals');
    // controller online: the goals can be changed
    await page.waitForFunction(
      () => !document.querySelector('#minSoc')?.classList.contains('mat-mdc-select-disabled'),
      null,
      { timeout: 30_000 },
    );
    await page.click('#minSoc');
    await page.click('mat-option:has-text("30 %")');
    await waitFor('min_soc/set = 30 on MQTT', () => watcher.latest.get(SET('min_soc')) === 30, {
      timeout: 10_000,
    });
    await page.click('#limitSoc');
    await page.click('mat-option:has-text("85 %")');
    await waitFor('limit_soc/set = 85 on MQTT', () => watcher.latest.get(SET('limit_soc')) === 85, {
      timeout: 10_000,
    });

    await page.fill('#planTime', '06:30');
    await page.click('#planDay-mon button');
    await page.click('#planDay-fri button');
    await page.click('#planSave');
    await waitFor(
      'plan/set on MQTT',
      () => {
        const plan = watcher.latest.get(SET('plan'));
        return plan?.time === '06:30' && plan.soc === 80 && plan.days?.join() === 'mon,fri';
      },
      { timeout: 10_000 },
    );

    await page.fill('#priceLimit', '0.5');
    await page.press('#priceLimit', 'Tab'); // the field commits on leaving it
    await waitFor(
      'price_limit 0.5 in the controller state',
      async () => (await (await api('')).json()).controller.price_limit === 0.5,
      { timeout: 10_000, interval: 200 },
    );
    // the Fixed tariff's price is below 0.5: the card says so
    await page.waitForFunction(() =>
      /at or below the limit/.test(
        document.querySelector('[data-testid=price-limit-status]')?.textContent ?? '',
      ),
    );
    assert.deepEqual(await page.evaluate(overflow), { scrollX: false, outside: [] });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'goals.png'), fullPage: true });
  });

  it('lists a session after a simulated plug-in and unplug, with month totals', async () => {
    // the simulated wallbox starts with the car plugged in: a session is open; charge a little
    assert.equal((await put('desired_mode', 'MAX')).status, 204);
    await waitFor(
      '10 Wh in the open session',
      async () => {
        const s = (await (await api('/sessions')).json()).sessions[0];
        return s?.open && s.energy_wh >= 10;
      },
      { timeout: 60_000, interval: 500 },
    );
    assert.equal((await put('desired_mode', 'OFF')).status, 204);
    assert.equal((await put('wallbox/car_status', 1)).status, 204); // unplug
    await waitFor(
      'the session closed',
      async () => (await (await api('/sessions')).json()).sessions[0]?.open === false,
      { timeout: 20_000, interval: 300 },
    );
    await page.click('#nav-sessions');
    await page.waitForSelector('[data-testid=session]');
    const rows = await page.$$eval('[data-testid=session]', (r) => r.map((e) => e.textContent));
    assert.equal(rows.length, 1);
    assert.match(rows[0], /(\d+ Wh|\d+\.\d kWh)/);
    assert.match(rows[0], /cost \d+\.\d\d/);
    const months = await page.textContent('[data-testid=months]');
    assert.match(months, /1 session/);
    assert.match(months, /\d+ % solar/);
    // the bar shows the split: its parts add up to the whole width
    const widths = await page.$eval('[data-testid=session] .bar', (bar) =>
      [...bar.children].map((c) => c.getBoundingClientRect().width),
    );
    const total = await page.$eval('[data-testid=session] .bar', (b) => b.clientWidth);
    assert.ok(Math.abs(widths.reduce((a, b) => a + b, 0) - total) < 1, `${widths} of ${total}`);

    // plug in again: a new open session shows after a reload of the page
    assert.equal((await put('wallbox/car_status', 3)).status, 204);
    await waitFor(
      'a new open session',
      async () => (await (await api('/sessions')).json()).total === 2,
      { timeout: 20_000, interval: 300 },
    );
    await page.reload();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=session]').length === 2,
    );
    assert.equal(await page.locator('[data-testid=session].open').count(), 1);
    assert.deepEqual(await page.evaluate(overflow), { scrollX: false, outside: [] });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'sessions.png'), fullPage: true });
  });

  it('opens the chart with the last hours from the gateway, not empty', async () => {
    const fresh = await openUi(browser, stack.base, { viewport: PHONE });
    await fresh.waitForSelector('pvc-live-chart canvas');
    // the seeded 3 h and the live points since
    await fresh.waitForFunction(() =>
      /^Power chart of the last 3 h; now PV/.test(
        document.querySelector('pvc-live-chart canvas')?.getAttribute('aria-label') ?? '',
      ),
    );
    assert.deepEqual(fresh.consoleErrors, []);
    await fresh.context().close();
  });
});
