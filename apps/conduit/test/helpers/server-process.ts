import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { freePort, TestClient, type TestResponse } from 'bastion/testing';

// Bastion as separate OS processes on loopback ports: what several instances behind a load
// balancer are. Each instance runs apps/conduit/test/helpers/server-entry.ts (the production startServer);
// its log is kept for assertions and shown when a test fails to start one.

const ENTRY = fileURLToPath(new URL('./server-entry.ts', import.meta.url));

/** A generous bound on a process's exit or answer: a hang fails the test with a name instead of holding it. */
export const EXIT_BOUND_MS = 20_000;

/** `p`, or a failure naming `what` if it has not settled within `ms`. */
export async function within<T>(what: string, p: Promise<T>, ms = EXIT_BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}

export { freePort } from 'bastion/testing';

export interface InstanceOptions {
  /** Environment for the instance (DATABASE_URL, REDIS_URL, SECRET_KEY, DATA_DIR …). */
  readonly env: Record<string, string>;
  /** PostgreSQL schema to use (see test/helpers/backends.ts isolate()). */
  readonly searchPath?: string;
  /** Prefix for every Redis key. */
  readonly redisPrefix?: string;
  /** How long to wait for /healthz (default 30 s). */
  readonly startTimeoutMs?: number;
  /** The script to run instead of server-entry.ts (one that adds test-only routes). */
  readonly entry?: string;
}

export interface Instance {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr. */
  logs(): string;
  /** Resolves with the exit code (or null and the signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, no goodbye. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts one instance and waits until it answers /healthz; stopped in t.after if still alive. */
export async function startInstance(t: TestContext, options: InstanceOptions): Promise<Instance> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_ORIGIN: `http://127.0.0.1:${port}`,
    ...options.env,
    ...(options.searchPath ? { BASTION_TEST_SEARCH_PATH: options.searchPath } : {}),
    ...(options.redisPrefix ? { BASTION_TEST_REDIS_PREFIX: options.redisPrefix } : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let alive = true;
  void exited.then(() => (alive = false));
  const signal = async (sig: NodeJS.Signals) => {
    if (alive) child.kill(sig);
    return exited;
  };
  const instance: Instance = {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    logs: () => chunks.join(''),
    exited,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
  t.after(async () => {
    if (alive) await instance.kill();
  });

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (!alive) throw new Error(`instance on port ${port} exited while starting:\n${instance.logs()}`);
    const up = await fetch(`${instance.url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return instance;
    if (Date.now() > deadline) {
      await instance.kill();
      throw new Error(`instance on port ${port} did not answer /healthz in time:\n${instance.logs()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls /readyz until it answers 200 or `boundMs` passes; returns the last answer. */
export async function untilReady(base: string, boundMs = 20_000): Promise<TestResponse> {
  const client = new TestClient(base);
  const deadline = Date.now() + boundMs;
  let ready = await client.get('/readyz');
  while (ready.statusCode !== 200 && Date.now() < deadline) {
    // Waits for the real process to reconnect to its dependency: real time.
    await new Promise((r) => setTimeout(r, 100));
    ready = await client.get('/readyz');
  }
  return ready;
}
