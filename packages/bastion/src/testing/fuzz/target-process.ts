import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isolate, type BackendName, type Isolation } from '../backends.js';
import { testEnv } from '../app-under-test.js';
import { freePort } from '../free-port.js';
import type { FuzzAccount, FuzzRoute, ParentMessage, TargetMessage } from './target-protocol.js';

// The parent's side of the app under fuzz (target-entry.ts): starts it on an isolated store,
// sends raw HTTP with a deadline (node:http keeps the path byte for byte: fetch would resolve
// `..` and turn `\` into `/` before the server saw them), and reads the process's CPU time
// over IPC. A request that outlives its deadline is a hang, whatever the process is doing.

// target-entry.ts beside this file when run from src/ (through tsx), target-entry.js in dist/.
const HERE = fileURLToPath(import.meta.url);
const ENTRY = fileURLToPath(new URL(`./target-entry${extname(HERE)}`, import.meta.url));

/** The app to start: a module exporting a builder of buildApp's shape, and that export's name. */
export interface TargetSpec {
  readonly backend: BackendName;
  readonly builder: { readonly module: URL | string; readonly exportName: string };
  /** The app's own settings, over the kit's test configuration. */
  readonly env?: Record<string, string>;
}

const moduleUrl = (module: URL | string): string =>
  module instanceof URL ? module.href : module.startsWith('file:') ? module : pathToFileURL(module).href;
const isTypeScript = (path: string): boolean => /\.[cm]?ts$/.test(path);

export interface RawRequest {
  readonly method: string;
  /** Sent exactly as written: percent-encoding, dot segments and backslashes included. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export class Hang extends Error {}

export interface Target {
  readonly backend: BackendName;
  readonly base: string;
  readonly origin: string;
  readonly routes: readonly FuzzRoute[];
  /** The target process's CPU time so far (user + system, all threads), in microseconds. */
  cpu(timeoutMs: number): Promise<number>;
  /** A fresh account of that role, written by the app's process. */
  account(role: 'admin' | 'member'): Promise<FuzzAccount>;
  /** Who a token (or without one, an unlocked username) stands for now. */
  whois(token: string | null, username: string): Promise<{ username: string; role: string } | null>;
  send(request: RawRequest, timeoutMs: number): Promise<RawResponse>;
  /** Everything the process wrote to stderr (its crash, if it crashed). */
  stderr(): string;
  readonly alive: () => boolean;
  stop(): Promise<void>;
}

export async function startTarget({ backend, builder, env: appEnv = {} }: TargetSpec, startTimeoutMs = 60_000): Promise<Target> {
  const iso: Isolation = await isolate(backend);
  const builderUrl = moduleUrl(builder.module);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...testEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_ORIGIN: origin,
      // The fuzzer speaks for many clients through X-Forwarded-For, so per-address limits count
      // each generated client and a few hundred requests are not one client's 429s.
      TRUST_PROXY: '127.0.0.1',
      ...appEnv,
      ...iso.env,
    }),
    ...(iso.searchPath ? { BASTION_TEST_SEARCH_PATH: iso.searchPath } : {}),
    ...(iso.redisPrefix ? { BASTION_TEST_REDIS_PREFIX: iso.redisPrefix } : {}),
    BASTION_KIT_BUILDER: builderUrl,
    BASTION_KIT_BUILDER_EXPORT: builder.exportName,
  };
  // TypeScript (the entry from src/, or an app's builder in .ts) runs through tsx, as the tests do.
  const loader = isTypeScript(ENTRY) || isTypeScript(new URL(builderUrl).pathname) ? ['--import', 'tsx'] : [];
  const child: ChildProcess = spawn(process.execPath, [...loader, ENTRY], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const errors: string[] = [];
  child.stderr!.on('data', (c: Buffer) => errors.push(c.toString('utf8')));
  let alive = true;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => (alive = false));

  let nextId = 1;
  const waiting = new Map<number, (m: TargetMessage) => void>();
  let routes: FuzzRoute[] | null = null;
  let onReady: (() => void) | null = null;
  child.on('message', (m: TargetMessage) => {
    if (m.type === 'ready') {
      routes = m.routes;
      onReady?.();
    } else {
      waiting.get(m.id)?.(m);
      waiting.delete(m.id);
    }
  });
  const ask = (message: ParentMessage, timeoutMs: number): Promise<TargetMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(message.id);
        reject(new Hang(`the target did not answer ${message.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(message.id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.send(message);
    });

  const stop = async (): Promise<void> => {
    if (alive) child.kill('SIGKILL');
    await exited;
    await iso.cleanup();
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`fuzz target did not start in ${startTimeoutMs} ms:\n${errors.join('')}`)),
      startTimeoutMs,
    );
    onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    void exited.then(() => reject(new Error(`fuzz target exited while starting:\n${errors.join('')}`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });

  return {
    backend,
    base: origin,
    origin,
    routes: routes!,
    alive: () => alive,
    stderr: () => errors.join(''),
    stop,
    async cpu(timeoutMs) {
      const m = await ask({ type: 'cpu', id: nextId++ }, timeoutMs);
      return m.type === 'cpu' ? m.micros : Number.NaN;
    },
    async account(role) {
      const m = await ask({ type: 'account', id: nextId++, role }, 20_000);
      if (m.type !== 'account' || !m.account)
        throw new Error(`fuzz target: no ${role} account: ${m.type === 'account' ? m.error : m.type}`);
      return m.account;
    },
    async whois(token, username) {
      const m = await ask({ type: 'whois', id: nextId++, token, username }, 10_000);
      return m.type === 'whois' ? m.user : null;
    },
    send(req, timeoutMs) {
      return new Promise<RawResponse>((resolve, reject) => {
        const headers: Record<string, string> = { ...req.headers };
        if (req.body !== undefined) headers['content-length'] = String(req.body.length);
        const outgoing = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: false });
        const timer = setTimeout(() => {
          outgoing.destroy();
          reject(new Hang(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        outgoing.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        outgoing.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          });
        });
        outgoing.end(req.body);
      });
    },
  };
}
