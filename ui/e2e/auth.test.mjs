// End-to-end: a gateway started with a token (api.auth_token). The UI asks for the token on the first
// refused setting, asks again when it is wrong, then the mode change goes through.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  PHONE,
  Stack,
  checkPrerequisites,
  launchBrowser,
  mqttWatcher,
  openControls,
  startBroker,
  waitFor,
} from './stack.mjs';

const CONTROLLER_STATE = 'pvcontrol/controller/state';
const TOKEN = 'e2e-Token-4711';

describe('pv-control UI against a gateway with a token', { timeout: 120_000 }, () => {
  let broker;
  let stack;
  let browser;
  let page;
  let watcher;

  before(async () => {
    checkPrerequisites();
    broker = await startBroker();
    stack = await new Stack(broker.url, { env: { PVC_API__AUTH_TOKEN: TOKEN } }).start();
    watcher = await mqttWatcher(broker.url, [CONTROLLER_STATE]);
    browser = await launchBrowser();
    page = await openControls(browser, stack.base, { viewport: PHONE });
  });

  after(async () => {
    if (page) {
      // Chromium reports each refused request (401) as a console error; anything else is a bug.
      const errors = page.consoleErrors.filter((e) => !e.includes('status of 401'));
      assert.deepEqual(errors, [], 'no other errors in the browser console');
    }
    await browser?.close();
    await watcher?.client.endAsync();
    await stack?.stop();
    await broker?.proc.stop();
  });

  it('asks for the token, again when it is wrong, and then changes the mode', async () => {
    const desired = () => watcher.latest.get(CONTROLLER_STATE)?.desired_mode;
    const start = desired();
    const target = start === 'PV_ONLY' ? 'PV_ALL' : 'PV_ONLY';
    assert.equal(await page.evaluate(() => localStorage.getItem('pvcontrol.token')), null);

    await page.click(`#chargeMode${target} button`);
    await page.waitForSelector('#token-input', { timeout: 10_000 });
    assert.match(await page.textContent('[data-testid=token-reason]'), /needs its token/);
    await page.fill('#token-input', 'wrong');
    await page.click('#token-submit');

    // The gateway refused the wrong token: the dialog comes back and says so.
    await page.waitForFunction(
      () =>
        /not accepted/.test(
          document.querySelector('[data-testid=token-reason]')?.textContent ?? '',
        ),
      null,
      { timeout: 10_000 },
    );
    assert.equal(desired(), start, 'nothing was changed without the right token');
    await page.fill('#token-input', TOKEN);
    await page.press('#token-input', 'Enter');

    await waitFor(`desired_mode ${target} on MQTT`, () => desired() === target, {
      timeout: 10_000,
    });
    await page.waitForFunction(
      (id) => document.querySelector(`#${id} button`)?.getAttribute('aria-checked') === 'true',
      `chargeMode${target}`,
      { timeout: 10_000 },
    );
    assert.equal(await page.$('#token-input'), null, 'the dialog is closed');
    assert.equal(await page.evaluate(() => localStorage.getItem('pvcontrol.token')), TOKEN);

    // Kept: the next change goes through without asking.
    await page.click('#chargeModeOFF button');
    await waitFor('desired_mode OFF on MQTT', () => desired() === 'OFF', { timeout: 10_000 });
    assert.equal(await page.$('#token-input'), null, 'not asked again');
  });
});
