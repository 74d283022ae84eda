// End-to-end: services going away and coming back, with one process per pv-control service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { PHONE, Stack, checkPrerequisites, launchBrowser, openUi, startBroker } from './stack.mjs';

const METER_CARDS = ['card-pv', 'card-grid', 'card-home', 'card-battery'];

/** The data-health of each given card, e.g. {"card-pv": "ok"}. */
const healthOf = (ids) =>
  Object.fromEntries(
    ids.map((id) => [id, document.querySelector(`#${id} mat-card`)?.getAttribute('data-health')]),
  );

const allHealth = ([ids, want]) =>
  ids.every(
    (id) => document.querySelector(`#${id} mat-card`)?.getAttribute('data-health') === want,
  );

const bannerText = () => document.querySelector('[data-testid=banner]')?.textContent?.trim() ?? '';

describe('pv-control UI with separate service processes', { timeout: 180_000 }, () => {
  let broker;
  let stack;
  let browser;
  let page;

  before(async () => {
    checkPrerequisites();
    broker = await startBroker();
    stack = await new Stack(broker.url, { separate: true }).start();
    browser = await launchBrowser();
    page = await openUi(browser, stack.base, { viewport: PHONE });
    await page.waitForFunction(allHealth, [[...METER_CARDS, 'card-car', 'card-temp'], 'ok'], {
      timeout: 30_000,
    });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await broker?.proc.stop();
  });

  it('greys the meter cards when the meter service dies, and recovers', async () => {
    await stack.proc('meter').kill('SIGKILL'); // no goodbye: the broker sends its last will
    await page.waitForFunction(allHealth, [METER_CARDS, 'offline'], { timeout: 15_000 });
    for (const id of METER_CARDS) {
      assert.match(await page.textContent(`#${id}`), /offline/i, id);
      const opacity = await page.evaluate(
        (sel) => getComputedStyle(document.querySelector(sel)).opacity,
        `#${id} .value`,
      );
      assert.ok(Number(opacity) < 0.8, `${id} greyed (opacity ${opacity})`);
    }
    assert.deepEqual(await page.evaluate(healthOf, ['card-car', 'card-temp']), {
      'card-car': 'ok',
      'card-temp': 'ok',
    });

    stack.startService('meter');
    await page.waitForFunction(allHealth, [METER_CARDS, 'ok'], { timeout: 30_000 });
  });

  it('shows a banner and disables the settings while the controller is offline', async () => {
    await stack.proc('controller').kill('SIGKILL');
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=banner]')?.textContent?.includes('Controller offline'),
      null,
      {
        timeout: 15_000,
      },
    );
    assert.equal(await page.getAttribute('[data-testid=banner]', 'role'), 'alert');
    assert.equal(await page.isDisabled('#chargeModePV_ONLY button'), true);

    stack.startService('controller');
    await page.waitForFunction(() => !document.querySelector('[data-testid=banner]'), null, {
      timeout: 30_000,
    });
    assert.equal(await page.isDisabled('#chargeModePV_ONLY button'), false);
  });

  it('shows a banner while the gateway is unreachable and reconnects by itself', async () => {
    await stack.proc('api').stop();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=banner]')?.textContent?.includes('No connection'),
      null,
      {
        timeout: 15_000,
      },
    );
    assert.equal((await page.textContent('[data-testid=connection]')).trim(), 'not live');

    stack.startService('api');
    await stack.waitReady();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=connection]')?.textContent?.trim() === 'live',
      null,
      {
        timeout: 30_000,
      },
    );
    assert.equal(await page.evaluate(bannerText), '');
    assert.deepEqual(
      page.consoleErrors.filter(
        (e) => !/events|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e),
      ),
      [],
    );
  });
});
