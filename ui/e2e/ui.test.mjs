// End-to-end: the built UI in a real Chromium against a real `pvcontrol all` stack and Mosquitto.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  DESKTOP,
  PHONE,
  SCREENSHOT_DIR,
  Stack,
  UI_DIR,
  checkPrerequisites,
  launchBrowser,
  mqttWatcher,
  openControls,
  openUi,
  startBroker,
  waitFor,
} from './stack.mjs';

const CONTROLLER_STATE = 'pvcontrol/controller/state';

/** Is the toggle with this id the marked (checked) one of its group? */
const checked = (id) =>
  document.querySelector(`#${id} button`)?.getAttribute('aria-checked') === 'true';

/** Where the page overflows the viewport. */
function layoutProblems() {
  const de = document.documentElement;
  const w = window.innerWidth;
  const h = window.innerHeight;
  const name = (e) =>
    e.id || e.getAttribute('data-testid') || e.className.split(' ')[0] || e.tagName;
  const boxes = [
    ...document.querySelectorAll('mat-toolbar, mat-card, mat-button-toggle, .banner, footer'),
  ];
  return {
    scrollX: de.scrollWidth > w || document.body.scrollWidth > w,
    scrollY: de.scrollHeight > h || document.body.scrollHeight > h,
    outsideX: boxes
      .filter(
        (e) => e.getBoundingClientRect().left < -0.5 || e.getBoundingClientRect().right > w + 0.5,
      )
      .map(name),
    outsideY: boxes.filter((e) => e.getBoundingClientRect().bottom > h + 0.5).map(name),
    clipped: [
      ...document.querySelectorAll(
        '.mat-button-toggle-label-content, pvc-stat .value, .wb-status, .today-values',
      ),
    ]
      .filter((e) => e.scrollWidth > e.clientWidth + 1)
      .map((e) => e.textContent.trim()),
    chartHeight: document.querySelector('.chart-card')?.getBoundingClientRect().height ?? 0,
  };
}

describe('pv-control UI against `pvcontrol all`', { timeout: 180_000 }, () => {
  let broker;
  let stack;
  let browser;
  let page;
  let watcher;

  before(async () => {
    checkPrerequisites();
    broker = await startBroker();
    stack = await new Stack(broker.url).start();
    watcher = await mqttWatcher(broker.url, [CONTROLLER_STATE, 'pvcontrol/+/status']);
    browser = await launchBrowser();
    page = await openControls(browser, stack.base, { viewport: PHONE });
  });

  after(async () => {
    if (page) assert.deepEqual(page.consoleErrors, [], 'no errors in the browser console');
    await browser?.close();
    await watcher?.client.endAsync();
    await stack?.stop();
    await broker?.proc.stop();
  });

  it('shows live values that change over time', async () => {
    const snapshot = () =>
      ['#card-pv', '#card-grid', '#card-home', '#card-battery', '#card-car', '#card-temp']
        .map((s) => document.querySelector(s)?.textContent?.trim())
        .join(' | ');
    const first = await page.evaluate(snapshot);
    assert.match(first, /PV\s*\d+\.\d\s*kW/);
    assert.match(first, /Battery\s*\d+\s*%/);
    for (const id of [
      'card-pv',
      'card-grid',
      'card-home',
      'card-battery',
      'card-car',
      'card-temp',
    ]) {
      assert.equal(await page.getAttribute(`#${id} mat-card`, 'data-health'), 'ok', id);
    }
    const handle = await page.waitForFunction(
      (before) => {
        const now = [
          '#card-pv',
          '#card-grid',
          '#card-home',
          '#card-battery',
          '#card-car',
          '#card-temp',
        ]
          .map((s) => document.querySelector(s)?.textContent?.trim())
          .join(' | ');
        return now !== before && now;
      },
      first,
      { timeout: 30_000 },
    );
    const later = await handle.jsonValue();
    assert.notEqual(later, first);
    // the chart (loaded when idle) draws what came in
    await page.waitForSelector('pvc-live-chart canvas', { timeout: 10_000 });
    await page.waitForFunction(() =>
      /now PV \d+\.\d kW/.test(
        document.querySelector('pvc-live-chart canvas')?.getAttribute('aria-label') ?? '',
      ),
    );
  });

  it('clicking "PV only" sets desired_mode on MQTT and marks PV only', async () => {
    assert.equal(await page.evaluate(checked, 'chargeModePV_ONLY'), false);
    await page.click('#chargeModePV_ONLY button');
    await waitFor(
      'desired_mode or mode PV_ONLY on MQTT',
      () => {
        const s = watcher.latest.get(CONTROLLER_STATE);
        return s && (s.desired_mode === 'PV_ONLY' || s.mode === 'PV_ONLY');
      },
      { timeout: 10_000 },
    );
    await page.waitForFunction(checked, 'chargeModePV_ONLY', { timeout: 10_000 });
    assert.equal(await page.evaluate(checked, 'chargeModeOFF'), false);
    assert.match(await page.textContent('[data-testid=mode-caption]'), /Mode: PV only/);
  });

  it('shows a command published on MQTT (as Node-RED would) within 2 s', async () => {
    assert.equal(await page.evaluate(checked, 'chargeModePV_ALL'), false);
    const t0 = Date.now();
    await watcher.client.publishAsync('pvcontrol/controller/desired_mode/set', 'PV_ALL', {
      qos: 1,
    });
    await page.waitForFunction(checked, 'chargeModePV_ALL', { timeout: 2000, polling: 50 });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= 2000, `shown after ${elapsed} ms`);
    assert.equal(await page.evaluate(checked, 'chargeModePV_ONLY'), false);
  });

  it('is labelled and works with the keyboard, with a visible focus', async () => {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('mat-button-toggle-group')]
        .filter(
          (g) =>
            !document.getElementById(g.getAttribute('aria-labelledby') ?? '')?.textContent?.trim(),
        )
        .map((g) => g.id),
    );
    assert.deepEqual(unlabelled, []);
    // Tab into the charge mode group: focus lands on its marked toggle, with an outline
    await page.focus('body');
    const focused = await waitFor(
      'focus in the charge mode group',
      async () => {
        await page.keyboard.press('Tab');
        return page.evaluate(() => {
          const a = document.activeElement;
          return a?.closest('#chargeModeToggle') ? a.closest('mat-button-toggle').id : null;
        });
      },
      { timeout: 10_000, interval: 0 },
    );
    assert.equal(focused, 'chargeModePV_ALL');
    const outline = await page.evaluate(() => {
      const toggle = document.activeElement.closest('mat-button-toggle');
      const s = getComputedStyle(toggle);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    assert.equal(outline.style, 'solid');
    assert.ok(outline.width >= 2, `outline width ${outline.width}`);
    // Arrow keys move to the next mode and select it; the controller takes it
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(checked, 'chargeModeMAX', { timeout: 10_000 });
    await waitFor(
      'desired_mode MAX handled on MQTT',
      () => watcher.latest.get(CONTROLLER_STATE)?.mode === 'MAX',
      {
        timeout: 10_000,
      },
    );
    // back to PV all for the screenshots (the relay may first wait for the wallbox to stay idle
    // before it switches back to 1 phase)
    await page.click('#chargeModePV_ALL button');
    await page.waitForFunction(checked, 'chargeModePV_ALL', { timeout: 40_000 });
  });

  it('fits a phone (390×844) without scrolling, in light and dark', async () => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.waitForSelector('pvc-live-chart canvas');
    const p = await page.evaluate(layoutProblems);
    assert.deepEqual(
      {
        scrollX: p.scrollX,
        scrollY: p.scrollY,
        outsideX: p.outsideX,
        outsideY: p.outsideY,
        clipped: p.clipped,
      },
      { scrollX: false, scrollY: false, outsideX: [], outsideY: [], clipped: [] },
    );
    assert.ok(p.chartHeight >= 100, `chart height ${p.chartHeight}`);
    const phone = path.join(SCREENSHOT_DIR, 'phone.png');
    await page.screenshot({ path: phone });
    if (process.env.PVC_UPDATE_SCREENSHOTS) {
      copyFileSync(phone, path.resolve(UI_DIR, '..', 'docs', 'screenshot-phone.png'));
    }

    const dark = await openUi(browser, stack.base, { viewport: PHONE, colorScheme: 'dark' });
    await dark.waitForSelector('pvc-live-chart canvas');
    const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+(\.\d+)?/g).map(Number);
    assert.ok(r + g + b < 150, `dark background, got ${bg}`);
    const d = await dark.evaluate(layoutProblems);
    assert.equal(d.scrollY || d.scrollX || d.outsideY.length > 0, false);
    await dark.screenshot({ path: path.join(SCREENSHOT_DIR, 'phone-dark.png') });
    assert.deepEqual(dark.consoleErrors, []);
    await dark.context().close();
  });

  it('fits a desktop (1280×800) without horizontal overflow', async () => {
    const desk = await openUi(browser, stack.base, { viewport: DESKTOP });
    await desk.waitForSelector('pvc-live-chart canvas');
    const p = await desk.evaluate(layoutProblems);
    assert.deepEqual(
      { scrollX: p.scrollX, outsideX: p.outsideX, clipped: p.clipped },
      {
        scrollX: false,
        outsideX: [],
        clipped: [],
      },
    );
    await desk.screenshot({ path: path.join(SCREENSHOT_DIR, 'desktop.png') });
    assert.deepEqual(desk.consoleErrors, []);
    await desk.context().close();
  });
});
