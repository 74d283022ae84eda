// Starts a real broker and the real Python pv-control stack for the end-to-end tests, and a real Chromium.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import mqtt from 'mqtt';
import { chromium } from 'playwright-core';

export const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Every run's screenshots go to test-results; PVC_UPDATE_SCREENSHOTS=1 refreshes the committed ones.
export const SCREENSHOT_DIR = process.env.PVC_UPDATE_SCREENSHOTS
  ? path.join(UI_DIR, 'e2e', 'screenshots')
  : path.join(UI_DIR, 'e2e', 'test-results', 'screenshots');
export const LOG_DIR = path.join(UI_DIR, 'e2e', 'test-results');
export const PVCONTROL =
  process.env.PVCONTROL_BIN ?? path.resolve(UI_DIR, '..', '.venv', 'bin', 'pvcontrol');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MOSQUITTO =
  process.env.MOSQUITTO_BIN ??
  (existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto');

/** Fast cycles for the tests (the defaults are 30 s / 5 s), and no 2 s wait for a retained controller
 * state that these tests never leave behind. */
const FAST = {
  PVC_CONTROLLER__CYCLE_TIME: '1',
  PVC_CONTROLLER__RESTORE_TIMEOUT: '0.5',
  PVC_METER__POLL_INTERVAL: '1',
  PVC_WALLBOX__POLL_INTERVAL: '1',
};

export function checkPrerequisites() {
  const missing = [];
  if (!existsSync(PVCONTROL))
    missing.push(`${PVCONTROL} (create the Python venv at ../.venv first)`);
  if (!existsSync(CHROMIUM)) missing.push(`${CHROMIUM} (apt-get install -y chromium)`);
  if (!existsSync(path.join(UI_DIR, 'dist', 'pvcontrol', 'browser', 'index.html'))) {
    missing.push('dist/pvcontrol/browser (npm run build first)');
  }
  if (missing.length) throw new Error(`e2e prerequisites missing:\n  ${missing.join('\n  ')}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Poll `fn` until it returns a truthy value; fail with `what` after `timeout` ms. */
export async function waitFor(what, fn, { timeout = 20_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A child process whose output goes to a log file; `stop()` ends it (SIGTERM, then SIGKILL). */
export class Proc {
  constructor(name, cmd, args, env = {}) {
    mkdirSync(LOG_DIR, { recursive: true });
    this.name = name;
    this.logFile = path.join(LOG_DIR, `${name}.log`);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    log.write(`\n=== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
    this.child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout.pipe(log, { end: false });
    this.child.stderr.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
      this.child.on('error', (err) => resolve({ code: -1, signal: null, err }));
    });
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal = 'SIGKILL') {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  async stop() {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** A private Mosquitto on a free port. */
export async function startBroker() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'pvc-e2e-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = new Proc(`mosquitto-${port}`, MOSQUITTO, ['-c', conf]);
  const url = `mqtt://127.0.0.1:${port}`;
  await waitFor(`mosquitto on port ${port}`, async () => {
    if (!proc.running) throw new Error(`mosquitto exited, see ${proc.logFile}`);
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 });
    await c.endAsync();
    return true;
  });
  return { port, url, proc };
}

async function ready(base) {
  const res = await fetch(`${base}/readyz`);
  return res.status === 200;
}

/**
 * The pv-control stack against `brokerUrl`: either one `pvcontrol all` process, or one process per
 * service (`separate`), so that single services can be stopped.
 */
export class Stack {
  constructor(brokerUrl, { separate = false, env = {} } = {}) {
    this.brokerUrl = brokerUrl;
    this.separate = separate;
    this.env = env;
    this.procs = new Map();
    // the gateway's history file: one per stack, kept across restarts of its processes
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'pvc-e2e-data-'));
  }

  async start() {
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    if (this.separate) {
      for (const s of ['meter', 'wallbox', 'car', 'relay', 'controller']) this.startService(s);
      this.startService('api');
    } else {
      this.startService('all');
    }
    await this.waitReady();
    return this;
  }

  startService(service) {
    const args = [service, '--mqtt', this.brokerUrl, '--log-level', 'INFO'];
    if (service === 'api' || service === 'all')
      args.push('--host', '127.0.0.1', '--port', String(this.port));
    if (service !== 'all') args.push('--metrics-port', '0');
    const proc = new Proc(`pvcontrol-${service}-${this.port}`, PVCONTROL, args, {
      PVC_HISTORY__DATA_DIR: this.dataDir,
      ...FAST,
      ...this.env,
    });
    this.procs.set(service, proc);
    return proc;
  }

  proc(service) {
    return this.procs.get(service);
  }

  async waitReady(timeout = 30_000) {
    const gateway = this.separate ? 'api' : 'all';
    await waitFor(
      `${this.base}/readyz`,
      async () => {
        const p = this.proc(gateway);
        if (!p.running) throw new Error(`pvcontrol ${gateway} exited, see ${p.logFile}`);
        return ready(this.base);
      },
      { timeout, interval: 200 },
    );
  }

  async stop() {
    await Promise.all([...this.procs.values()].map((p) => p.stop()));
  }
}

/** An MQTT client that keeps the latest retained/received JSON per topic. */
export async function mqttWatcher(brokerUrl, topics) {
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: `pvcontrol-e2e-${process.pid}-${Date.now()}`,
  });
  const latest = new Map();
  client.on('message', (topic, payload) => {
    const text = payload.toString('utf8');
    let value = text;
    try {
      value = JSON.parse(text);
    } catch {
      /* plain text, e.g. a status */
    }
    latest.set(topic, value);
  });
  await client.subscribeAsync(topics, { qos: 1 });
  return { client, latest };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** A page of the UI; browser console errors are collected for the report. */
export async function openUi(browser, base, { viewport = PHONE, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, deviceScaleFactor: 2 });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  await page.goto(`${base}/`);
  // live: the first state event arrived
  await page.waitForFunction(
    () => document.querySelector('[data-testid=connection]')?.textContent?.trim() === 'live',
  );
  return page;
}

/** A page of the UI once every service is online: the mode controls are enabled. */
export async function openControls(browser, base, options = {}) {
  const page = await openUi(browser, base, options);
  await page.waitForFunction(
    () => document.querySelector('#chargeModePV_ONLY button')?.disabled === false,
    null,
    { timeout: 30_000 },
  );
  return page;
}
