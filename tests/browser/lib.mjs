// tests/browser/lib.mjs - shared helpers of the browser tests: start Debian's chromium
// through playwright-core (no downloaded browsers), count PASS/FAIL lines the way
// tests/run.sh reads them, save screenshots.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Without the background-networking flags chromium keeps trying to reach Google's
// services, which floods a closed network.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--disable-domain-reliability',
  '--metrics-recording-only', '--no-default-browser-check', '--disable-features=Translate,MediaRouter,OptimizationHints'];

export async function launch () {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portevo-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-US'
  });
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

export class Results {
  constructor (prefix) {
    this.prefix = prefix;
    this.failed = 0;
    this.passed = 0;
  }

  pass (what) {
    this.passed++;
    console.log(`PASS: ${this.prefix}${what}`);
  }

  fail (what, detail) {
    this.failed++;
    console.log(`FAIL: ${this.prefix}${what}${detail ? ` (${detail})` : ''}`);
  }

  check (what, ok, detail) {
    if (ok) this.pass(what);
    else this.fail(what, detail);
    return ok;
  }

  // Run an async step; an exception fails it with its message.
  async step (what, fn) {
    try {
      const r = await fn();
      if (r === false) this.fail(what);
      else if (typeof r === 'string') this.fail(what, r);
      else this.pass(what);
    } catch (err) {
      this.fail(what, String(err && err.message ? err.message : err).split('\n')[0]);
    }
  }
}

// Watch a page for what must never happen: dialogs (an executed XSS payload), uncaught
// exceptions, CSP violations and console errors.
export function watch (page) {
  const seen = { dialogs: [], errors: [], console: [] };
  page.on('dialog', async d => {
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', e => seen.errors.push(String(e.message || e)));
  page.on('console', m => {
    if (m.type() === 'error') seen.console.push(m.text());
  });
  return seen;
}

export async function shot (page, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Wait until the app finished rendering the current URL (body[data-state] ready|error).
export async function settled (page, timeout = 15000) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout });
  return page.evaluate(() => document.body.dataset.state);
}
