// Shared helpers for the end-to-end suite: Debian's Chromium driven by playwright-core
// (no browser download), settings from the environment, small wait/assert helpers.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));

export const env = {
  baseUrl: (process.env.E2E_BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, ''),
  chromium: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
  /** Shell command that restarts the server (e.g. `docker compose restart` or a script). */
  restartCmd: process.env.E2E_RESTART_CMD || '',
  /** Shell command that makes the e-mail given after it an instance admin (e.g. `cloudchat admin grant`). */
  adminCmd: process.env.E2E_ADMIN_CMD || '',
  screenshots: process.env.E2E_SCREENSHOT_DIR || resolve(here, '../../docs/screenshots'),
  /** Set to 0 to skip writing screenshots (e.g. in the nginx run). */
  takeScreenshots: process.env.E2E_SCREENSHOTS !== '0',
  timeout: Number(process.env.E2E_TIMEOUT_MS || 15_000),
  headless: process.env.E2E_HEADFUL !== '1',
};

/** Flags for a closed network: nothing phones home, no sandbox (root in CI), no GPU. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,InterestFeedContentSuggestions',
  '--metrics-recording-only',
  '--password-store=basic',
  '--use-mock-keychain',
];

/**
 * Hooks for a suite of `n` people: before it, the browser and one context each (`people`, in
 * order); after it, every context and the browser closed.
 */
export function browserFor(n) {
  const held = { browser: undefined, people: [] };
  before(async () => {
    held.browser = await launch();
    for (let i = 0; i < n; i++) held.people.push(await newUserContext(held.browser));
  });
  after(async () => {
    for (const p of held.people) await p.context.close();
    await held.browser?.close();
  });
  return held;
}

export async function launch() {
  return chromium.launch({ executablePath: env.chromium, headless: env.headless, args: CHROMIUM_ARGS });
}

/**
 * A browser context for one user. Every page dialog (alert/confirm) is recorded and
 * dismissed: the app never opens one, so any entry means injected script ran.
 */
export async function newUserContext(browser, { colorScheme = 'light', proxy } = {}) {
  const context = await browser.newContext({
    baseURL: env.baseUrl,
    proxy,
    viewport: { width: 1280, height: 800 },
    colorScheme,
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(env.timeout);
  const page = await context.newPage();
  const dialogs = [];
  const consoleErrors = [];
  page.on('dialog', async (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  return { context, page, dialogs, consoleErrors };
}

export async function screenshot(page, name) {
  if (!env.takeScreenshots) return;
  await mkdir(env.screenshots, { recursive: true });
  await page.screenshot({ path: resolve(env.screenshots, `${name}.png`) });
}

export function unique() {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function eventually(fn, { timeout = env.timeout, interval = 250, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${message}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Runs a shell command (the restart and admin hooks); resolves its output, rejects unless it exits 0. */
export function runShell(cmd) {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`\`${cmd}\` exited ${code}:\n${out}`))));
  });
}

/** JSON over HTTP against the same base URL (for the server-side half of some checks). */
export async function api(path, { method = 'GET', body, token } = {}) {
  const res = await fetch(env.baseUrl + path, {
    method,
    headers: {
      Accept: 'application/json',
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/**
 * A SOCKS5 proxy (no auth, CONNECT only) for one browser context, that a test can cut like a
 * network cable. Chromium's offline emulation (`context.setOffline`) does not close an open
 * WebSocket, it only holds its frames until the network is back (they are then delivered),
 * so a context that must really lose its connection goes through this. `cut()` resets every
 * tunnel (the page sees close 1006, the server a dropped peer) and refuses new ones until
 * `restore()`. Pages keep their origin (a proxy, unlike a relay on another port, does not
 * change the URL), so the server's origin checks still pass.
 */
export async function cuttableProxy() {
  const open = new Set();
  let down = false;
  const track = (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    track(client);
    let greeted = false;
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!greeted) {
        // VER NMETHODS METHODS… → VER, "no authentication"
        if (buf.length < 2 || buf.length < 2 + buf[1]) return;
        buf = buf.subarray(2 + buf[1]);
        client.write(Buffer.from([5, 0]));
        greeted = true;
      }
      // VER CMD RSV ATYP DST.ADDR DST.PORT, with CMD = CONNECT and an IPv4 or a name
      if (buf.length < 5) return;
      let host;
      let at;
      if (buf[3] === 1) {
        if (buf.length < 10) return;
        host = [...buf.subarray(4, 8)].join('.');
        at = 8;
      } else if (buf[3] === 3) {
        if (buf.length < 7 + buf[4]) return;
        host = buf.subarray(5, 5 + buf[4]).toString();
        at = 5 + buf[4];
      } else {
        client.destroy();
        return;
      }
      const port = buf.readUInt16BE(at);
      const early = buf.subarray(at + 2);
      client.off('data', onData);
      const upstream = net.connect(port, host, () => {
        client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        if (early.length) upstream.write(early);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    /** For `browser.newContext({ proxy })`. */
    proxy: { server: `socks5://127.0.0.1:${server.address().port}` },
    cut() {
      down = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      down = false;
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
