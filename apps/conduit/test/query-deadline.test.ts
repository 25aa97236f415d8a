import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { BACKENDS, PG_URL } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// A PostgreSQL server that answers nothing (hung, or cut off by the network) is the client's to
// notice: statement_timeout runs on the server. Between the app and PostgreSQL sits a proxy that
// can freeze: it stops passing bytes while both connections stay open. A request's query then
// fails after the deadline with a 503, and its connection is closed instead of being handed,
// still stuck, to the next request.

const SKIP = BACKENDS.includes('postgres') ? false : 'BASTION_TEST_BACKENDS excludes postgres';
const DEADLINE_MS = 1_000;

interface FreezingProxy {
  readonly port: number;
  freeze(): void;
  thaw(): void;
}

async function startFreezingProxy(t: TestContext, target: { host: string; port: number }): Promise<FreezingProxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server = createServer((client) => {
    const upstream = createConnection(target);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(to);
      if (frozen) from.pause(); // after pipe(), which resumes its source
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    freeze() {
      frozen = true;
      for (const s of sockets) s.pause();
    },
    thaw() {
      frozen = false;
      for (const s of sockets) s.resume();
    },
  };
}

test(
  '[postgres] a query the server never answers fails after the deadline with a 503, and its connection is replaced',
  { skip: SKIP },
  async (t) => {
    const real = new URL(PG_URL);
    const proxy = await startFreezingProxy(t, { host: real.hostname, port: Number(real.port) });
    real.port = String(proxy.port);
    // One pooled connection: had the stuck one stayed in the pool, the next query would wait behind it.
    const { app, runtime, logs } = await startTestApp(
      t,
      'postgres',
      { DATABASE_URL: real.toString(), DATABASE_POOL_MAX: '1' },
      { queryTimeoutMs: DEADLINE_MS },
    );
    const pid = async (): Promise<number> =>
      (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(runtime.db.kysely)).rows[0]!.pid;
    const before = await pid();
    assert.equal((await app.inject({ url: '/api/articles' })).statusCode, 200);

    proxy.freeze();
    const started = Date.now();
    const refused = await app.inject({ url: '/api/articles' });
    const waited = Date.now() - started;
    assert.equal(refused.statusCode, 503, 'a request whose query is never answered gets 503, not a hang or a 500');
    assert.ok(refused.headers['retry-after']);
    assert.ok(waited >= DEADLINE_MS - 50 && waited < DEADLINE_MS * 3 + 1_000, `answered after ${waited} ms`);
    assert.match(logs(), /Query read timeout/, 'the log keeps the cause');

    proxy.thaw();
    assert.notEqual(await pid(), before, 'the stuck connection was closed; the pool opened a new one');
    assert.equal((await app.inject({ url: '/api/articles' })).statusCode, 200, 'served again once the server answers');
  },
);
