import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { type Config, loadConfig, openRuntime, type Runtime } from 'bastion';
import { conduitMigrations } from '../../src/conduit/migrations/conduit-migrations.js';
import { isolate, randomKey, type BackendName } from 'bastion/testing';

// Browser proof: the real app listening on a loopback port, driven by Debian's Chromium through
// playwright-core (never a downloaded browser). Every page a test opens is watched for CSP
// violations, console errors, uncaught exceptions, dialogs and the `window.__xss` marker, so an
// executed payload or a page that needs something the CSP forbids fails the test.

export const CHROMIUM_PATH = process.env.BASTION_CHROMIUM ?? '/usr/bin/chromium';
// Root on a closed network: no sandbox, and nothing that phones home or waits for the network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SCREENSHOT_DIR = 'artifacts/screenshots';
export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

// ---------------------------------------------------------------- the app on a real port

export interface ListeningApp {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly config: Config;
  readonly backend: BackendName;
  /** e.g. http://127.0.0.1:41234 (also the app's PUBLIC_ORIGIN, so Origin checks pass). */
  readonly baseUrl: string;
  readonly logs: () => string;
  /** Run before the app closes (browser contexts), so no keep-alive socket holds the close. */
  readonly beforeClose: Array<() => Promise<void>>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ListeningOptions {
  /**
   * Reach the app by this name instead of 127.0.0.1 (it still listens on 127.0.0.1): the
   * PUBLIC_ORIGIN, and so every page the browser opens, is http://<hostname>:<port>. WebAuthn
   * needs it: an IP address is no RP ID, and `localhost` is a secure context over plain HTTP.
   */
  readonly hostname?: 'localhost';
  /** The app's clock (AppOptions.now): tests move it instead of sleeping. */
  readonly now?: AppOptions['now'];
}

/**
 * startTestApp's isolation (temp dir, or a fresh PostgreSQL schema and Redis prefix), but
 * listening on 127.0.0.1 so a browser can reach it. TRUST_PROXY=loopback lets the test's own
 * API calls spread over X-Forwarded-For addresses (see `ApiClient`), so building fixtures does
 * not trip the per-IP limits the tests are not about. Closed and cleaned in t.after.
 */
export async function startListeningApp(
  t: TestContext,
  backend: BackendName,
  env: Record<string, string> = {},
  options: ListeningOptions = {},
): Promise<ListeningApp> {
  const iso = await isolate(backend);
  const port = await freePort();
  const named = options.hostname === undefined ? {} : { PUBLIC_ORIGIN: `http://${options.hostname}:${port}` };
  const { config } = loadConfig({
    env: {
      NODE_ENV: 'test',
      SECRET_KEY: randomKey(),
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      TRUST_PROXY: 'loopback',
      ...named,
      ...iso.env,
      ...env,
    },
    dotenvPath: null,
  });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix, migrations: conduitMigrations });
  const chunks: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const app = await buildApp(runtime, { logStream, ...(options.now ? { now: options.now } : {}) });
  const beforeClose: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const work of beforeClose) await work().catch(() => {});
    const closing = app.close();
    // A socket Chromium pre-opened but never used would otherwise hold close() for 30 s.
    app.server.closeAllConnections();
    await closing;
    await runtime.close();
    await iso.cleanup();
  });
  await app.listen({ host: '127.0.0.1', port });
  return { app, runtime, config, backend, baseUrl: config.publicOrigin, logs: () => chunks.join(''), beforeClose };
}

// ---------------------------------------------------------------- one Chromium per test file

/** Call once at the top of a test file: launches Chromium before the tests, closes it after. */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('useBrowser(): the browser is not launched yet');
    return browser;
  };
}

// ---------------------------------------------------------------- watched contexts

export interface Problem {
  readonly kind: 'csp' | 'console' | 'pageerror' | 'dialog' | 'xss';
  readonly detail: string;
  readonly url: string;
}

// Injected by the browser before any page script (Page.addScriptToEvaluateOnNewDocument), so the
// page's own CSP does not apply to it. Reports through a CDP binding, which no CSP can block.
const WATCH_SCRIPT = `(() => {
  const report = (kind, detail) => { try { window.__bastionReport(kind, String(detail)); } catch (e) {} };
  document.addEventListener('securitypolicyviolation', (e) => {
    report('csp', e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' at ' + e.sourceFile + ':' + e.lineNumber + ' sample=' + JSON.stringify(e.sample));
  }, true);
  let marker;
  Object.defineProperty(window, '__xss', {
    configurable: false,
    get() { return marker; },
    set(value) { marker = value; report('xss', 'window.__xss = ' + value); },
  });
})();`;

// A 1×1 transparent PNG: what every request to another origin gets, so Markdown images with
// https: URLs (allowed by the CSP) neither leave the machine nor log a network error.
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

export interface SessionOptions {
  readonly javaScriptEnabled?: boolean;
  /** Sent on every request, e.g. a distinct X-Forwarded-For so per-IP limits stay per client. */
  readonly clientIp?: string;
}

export class BrowserSession {
  readonly problems: Problem[] = [];
  /** URLs of requests that tried to reach another origin (answered locally with a pixel). */
  readonly externalRequests: string[] = [];
  #checked = 0;

  constructor(
    readonly context: BrowserContext,
    readonly target: ListeningApp,
    readonly javaScriptEnabled: boolean,
  ) {}

  newPage(): Promise<Page> {
    return this.context.newPage();
  }

  /** Opens a path of the app and fails on any other HTTP status than `status` (200). */
  async visit(page: Page, path: string, status = 200): Promise<Page> {
    const response = await page.goto(this.target.baseUrl + path, { waitUntil: 'load' });
    if (!response) throw new Error(`no response for ${path}`);
    if (response.status() !== status) throw new Error(`GET ${path}: expected ${status}, got ${response.status()}`);
    await this.settle(page);
    return page;
  }

  /** Gives event handlers (onload, onerror, onfocus …) a chance to run before we judge the page. */
  async settle(page: Page): Promise<void> {
    if (!this.javaScriptEnabled) return;
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50))));
    const marker = await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss);
    if (marker !== undefined) this.problems.push({ kind: 'xss', detail: `window.__xss is ${String(marker)}`, url: page.url() });
  }

  /** Problems since the last call (or since the start). */
  fresh(): Problem[] {
    const out = this.problems.slice(this.#checked);
    this.#checked = this.problems.length;
    return out;
  }

  /** Throws, listing every problem, if any page so far had one. */
  assertClean(what = 'pages'): void {
    if (this.problems.length === 0) return;
    const lines = this.problems.map((p) => `  [${p.kind}] ${p.url}: ${p.detail}`);
    throw new Error(`${what} on ${this.target.backend} had ${this.problems.length} problem(s):\n${lines.join('\n')}`);
  }

  /** Full-page screenshots at desktop and phone width: artifacts/screenshots/<backend>-<name>-{desktop,phone}.png */
  async screenshot(page: Page, name: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const base = `${SCREENSHOT_DIR}/${this.target.backend}-${name}`;
    const original = page.viewportSize() ?? DESKTOP;
    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: `${base}-desktop.png`, fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: `${base}-phone.png`, fullPage: true });
    await page.setViewportSize(original);
  }
}

/**
 * A fresh, watched browser context on the app. Closed in t.after, which also fails the test if
 * any page in it had a CSP violation, a console error, an uncaught exception, a dialog or set
 * the XSS marker (tests may call `session.assertClean()` earlier for a better message).
 */
export async function openSession(
  t: TestContext,
  browser: Browser,
  target: ListeningApp,
  options: SessionOptions = {},
): Promise<BrowserSession> {
  const javaScriptEnabled = options.javaScriptEnabled ?? true;
  const context = await browser.newContext({
    viewport: DESKTOP,
    javaScriptEnabled,
    ...(options.clientIp ? { extraHTTPHeaders: { 'x-forwarded-for': options.clientIp } } : {}),
  });
  const session = new BrowserSession(context, target, javaScriptEnabled);
  const record = (kind: Problem['kind'], detail: string, url: string): void => {
    session.problems.push({ kind, detail, url });
  };
  await context.exposeBinding('__bastionReport', (source, kind: string, detail: string) => {
    record(kind === 'csp' || kind === 'xss' ? kind : 'console', detail, source.page?.url() ?? '');
  });
  await context.addInitScript({ content: WATCH_SCRIPT });
  context.on('console', (message) => {
    // Chromium also logs each CSP violation as a console error: this catches them with JS off.
    if (message.type() === 'error') record('console', message.text(), message.page()?.url() ?? '');
  });
  context.on('weberror', (error) => record('pageerror', error.error().message, error.page()?.url() ?? ''));
  context.on('dialog', (dialog) => {
    record('dialog', `${dialog.type()}: ${dialog.message()}`, dialog.page()?.url() ?? '');
    dialog.dismiss().catch(() => {});
  });
  const origin = new URL(target.baseUrl).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('http') && new URL(url).origin !== origin) {
      session.externalRequests.push(url);
      return route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL });
    }
    return route.continue();
  });
  target.beforeClose.push(() => context.close());
  t.after(async () => {
    await context.close();
    session.assertClean();
  });
  return session;
}

// ---------------------------------------------------------------- fixtures through the JSON API

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface ApiUser {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly token: string;
}

/** Unique per call: every fixture request comes "from" its own client, through the trusted proxy. */
let ipCounter = 0;
export function nextClientIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

export const strongPassword = (): string => `pw-${randomBytes(12).toString('hex')}`;

/** Talks to /api like a RealWorld client (Authorization: Token …). */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse> {
    const headers: Record<string, string> = { 'x-forwarded-for': nextClientIp() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Token ${token}`;
    const res = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the failure message
    }
    return { status: res.status, body: parsed };
  }

  /** Registers a user and returns its credentials and token; throws unless the API said 201/200. */
  async register(username: string, password = strongPassword()): Promise<ApiUser> {
    const email = `${username.toLowerCase().replace(/[^a-z0-9]/g, '')}-${randomBytes(3).toString('hex')}@example.com`;
    const res = await this.request('POST', '/api/users', { user: { username, email, password } });
    if (res.status !== 201 && res.status !== 200) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    const token = (res.body as { user: { token: string } }).user.token;
    return { username, email, password, token };
  }

  async ok(method: string, path: string, body: unknown, token: string): Promise<unknown> {
    const res = await this.request(method, path, body, token);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
}
