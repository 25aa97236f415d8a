import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from './server-process.js';

// Fault tests stop and restart a dependency. They must never stop the shared PostgreSQL
// (127.0.0.1:5432) or Redis (127.0.0.1:6379) that every other test file uses at the same time,
// so each fault test starts its own private server on a spare loopback port, in a temp dir,
// and stops only that one. Everything is removed again in t.after.

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PrivateService {
  readonly url: string;
  readonly port: number;
  /** Stops the server (the dependency "goes down"); its data stays on disk. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it accepts clients. */
  start(): Promise<void>;
}

async function waitFor(what: string, ready: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not become ready in ${timeoutMs} ms:\n${logs()}`);
    await sleep(50);
  }
}

export interface PrivateRedis extends PrivateService {
  /** SIGSTOP: the server keeps its connections open but answers nothing (a hung server). */
  freeze(): void;
  /** SIGCONT: it answers again. */
  thaw(): void;
}

/** A Redis server of our own: appendonly with fsync always, so a restart keeps every key. */
export async function startPrivateRedis(t: TestContext): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  // PING over a bare socket: no client library state to clean up between polls.
  const ping = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let reply = '';
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(2_000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (c: Buffer) => {
        reply += c.toString('latin1');
        if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
      });
    });

  const service: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      if (child) return;
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
      ];
      const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
      proc.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
      child = proc;
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      void exited.then(() => {
        if (child === proc) child = null;
      });
      await waitFor(
        `private redis on port ${port}`,
        async () => {
          if (child !== proc) throw new Error(`private redis on port ${port} exited:\n${output}`);
          return ping();
        },
        10_000,
        () => output,
      );
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      proc.kill('SIGCONT'); // a frozen server would never act on SIGTERM
      proc.kill('SIGTERM');
      await exited;
      child = null;
    },
  };
  t.after(async () => {
    if (child) {
      child.kill('SIGKILL'); // also ends a frozen one
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await service.start();
  return service;
}

/** The directory of PostgreSQL's server programs (Debian keeps them off PATH): the newest. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  if (newest === undefined) throw new Error('no PostgreSQL server programs under /usr/lib/postgresql/*/bin');
  return join(root, newest, 'bin');
}

// PostgreSQL refuses to run as root. As root (CI, these machines) every server program runs as
// the `postgres` OS user through runuser, on a data dir that user owns; otherwise as ourselves.
async function ownerOf(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/**
 * A PostgreSQL server of our own (initdb takes a few seconds: share one per test file).
 * Trust auth on loopback only, no Unix socket, database `postgres`, user `postgres`.
 */
export async function startPrivatePostgres(t: TestContext): Promise<PrivateService> {
  const bin = postgresBinDir();
  const owner = await ownerOf();
  const dir = mkdtempSync(join(tmpdir(), 'bastion-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const port = await freePort();
  const as = (program: string, args: string[]) =>
    owner
      ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { timeout: 60_000 })
      : run(join(bin, program), args, { timeout: 60_000 });
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  await as('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    "-c unix_socket_directories=''",
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=50',
  ].join(' ');
  let running = false;

  const service: PrivateService = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      if (running) return;
      try {
        await as('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', logFile, '-o', options]);
      } catch (err) {
        throw new Error(`private postgres on port ${port} did not start: ${(err as Error).message}\n${logs()}`);
      }
      running = true;
    },
    async stop() {
      if (!running) return;
      // fast: open sessions are terminated (what clients see when a server goes away), no wait.
      await as('pg_ctl', ['stop', '-w', '-t', '30', '-m', 'fast', '-D', data]);
      running = false;
    },
  };
  t.after(async () => {
    if (running) await as('pg_ctl', ['stop', '-w', '-t', '30', '-m', 'immediate', '-D', data]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  await service.start();
  return service;
}
