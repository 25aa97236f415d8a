import assert from 'node:assert/strict';
import { request as httpRequest, Agent, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { BACKENDS, isolate, randomKey } from 'bastion/testing';
import { newAccount, registerOverApi } from './helpers/conduit-api.js';
import { startInstance, within, type Instance } from './helpers/server-process.js';

// SIGTERM, as an orchestrator sends it before replacing an instance: the listener closes at
// once (the load balancer's next connection goes elsewhere), requests already being served
// finish with their normal answer, the database and Redis pools are closed, and the process
// exits 0, all within a bound. A request that never finishes cannot hold the shutdown forever.

// At debug level each request is logged as it arrives (before its body is read); registration came before.
const INCOMING_LOGIN =
  /"url":"\/api\/users\/login"[^\n]*"msg":"incoming request"|"msg":"incoming request"[^\n]*"url":"\/api\/users\/login"/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `ready()` holds; fails after `ms` and stops polling (a failed wait must not hang the file). */
async function waitFor(what: string, ready: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** Resolves once the log has a line matching `pattern` (bounded). */
async function logShows(instance: Instance, pattern: RegExp, what: string): Promise<void> {
  await waitFor(`log: ${what}`, () => pattern.test(instance.logs()));
}

/** True once a new TCP connection to the port is refused (bounded). */
async function refusesConnections(port: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
    await sleep(20);
  }
  return false;
}

interface Pending {
  readonly req: ClientRequest;
  readonly answer: Promise<{ status: number; body: string }>;
}

/** A JSON POST whose body is sent only in part: the server has the request and waits for the rest. */
function startSlowPost(port: number, path: string, body: string, agent?: Agent): Pending {
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    agent: agent ?? false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
  });
  answer.catch(() => {}); // observed by the test that awaits it
  req.write(body.slice(0, 10));
  return { req, answer };
}

for (const backend of BACKENDS) {
  async function instanceWithUser(t: import('node:test').TestContext) {
    const iso = await isolate(backend);
    t.after(() => iso.cleanup());
    const instance = await startInstance(t, {
      env: { ...iso.env, SECRET_KEY: randomKey(), LOG_LEVEL: 'debug' },
      ...(iso.searchPath ? { searchPath: iso.searchPath } : {}),
      ...(iso.redisPrefix ? { redisPrefix: iso.redisPrefix } : {}),
    });
    const account = newAccount();
    await registerOverApi(instance.url, account);
    return { instance, account };
  }

  test(`[${backend}] SIGTERM: an in-flight login finishes with its normal answer, new connections are refused, pools close, exit 0`, async (t) => {
    const { instance, account } = await instanceWithUser(t);
    const body = JSON.stringify({ user: { email: account.email, password: account.password } });
    const login = startSlowPost(instance.port, '/api/users/login', body);
    await logShows(instance, INCOMING_LOGIN, 'the login has reached the server');

    instance.child.kill('SIGTERM');
    await logShows(instance, /"msg":"shutting down"/, 'the signal was received');
    assert.ok(await refusesConnections(instance.port), 'a new connection after the signal is refused');
    assert.equal(instance.child.exitCode, null, 'the process waits for the request in flight');

    login.req.end(body.slice(10));
    const answer = await within('the in-flight login', login.answer);
    assert.equal(answer.status, 200, answer.body);
    const user = JSON.parse(answer.body).user as { email: string; token: string };
    assert.equal(user.email, account.email);
    assert.match(user.token, /^[\w-]{43}$/);

    assert.deepEqual(await within('exit', instance.exited), { code: 0, signal: null });
    assert.match(instance.logs(), /"msg":"shut down: requests drained, pools closed"/);
  });

  test(`[${backend}] SIGTERM: an idle keep-alive connection does not hold the shutdown`, async (t) => {
    const { instance } = await instanceWithUser(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const first = await new Promise<number>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: instance.port, path: '/api/tags', agent }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      })
        .once('error', reject)
        .end();
    });
    assert.equal(first, 200);
    assert.equal(agent.freeSockets[Object.keys(agent.freeSockets)[0] ?? '']?.length, 1, 'the connection is kept open, idle');
    // Exit 0 means the drain finished by itself, not by the 10 s deadline (which exits 1).
    assert.deepEqual(await within('exit', instance.stop()), { code: 0, signal: null });
  });

  test(`[${backend}] SIGTERM: a request that never finishes cannot hold the process past the drain deadline`, async (t) => {
    const { instance } = await instanceWithUser(t);
    const stuck = startSlowPost(
      instance.port,
      '/api/users/login',
      JSON.stringify({ user: { email: 'nobody@example.com', password: 'x'.repeat(20) } }),
    );
    t.after(() => stuck.req.destroy());
    await logShows(instance, INCOMING_LOGIN, 'the stuck request has reached the server');
    instance.child.kill('SIGTERM');
    assert.ok(await refusesConnections(instance.port), 'a new connection after the signal is refused');
    const exit = await within('exit despite a stuck request', instance.exited);
    assert.deepEqual(exit, { code: 1, signal: null }, 'the deadline ended it and says so with a non-zero code');
    assert.match(instance.logs(), /drain deadline/);
  });

  test(`[${backend}] SIGTERM: a request arriving on an open connection during the drain gets our 503, with the security headers and Retry-After`, async (t) => {
    const { instance, account } = await instanceWithUser(t);
    const body = JSON.stringify({ user: { email: account.email, password: account.password } });
    const socket = connect({ host: '127.0.0.1', port: instance.port });
    t.after(() => socket.destroy());
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (raw += c));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // A login whose body is still on its way keeps this connection busy, so the drain cannot
    // close it; then a second request is sent on the same connection.
    socket.write(
      `POST /api/users/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await logShows(instance, INCOMING_LOGIN, 'the login has reached the server');
    instance.child.kill('SIGTERM');
    await logShows(instance, /"msg":"shutting down"/, 'the signal was received');
    socket.write(`${body.slice(10)}GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await waitFor('both answers', () => (raw.match(/HTTP\/1\.1 /g) ?? []).length >= 2 && raw.includes('"errors"'));
    const [, second] = raw.split(/(?=HTTP\/1\.1 )/);
    assert.match(raw, /^HTTP\/1\.1 200 /, 'the login in flight is answered normally');
    assert.match(second!, /^HTTP\/1\.1 503 /);
    assert.match(second!, /\r\nretry-after: \d+\r\n/i);
    assert.match(second!, /\r\ncontent-security-policy: default-src 'self'/i);
    assert.match(second!, /\r\nx-content-type-options: nosniff\r\n/i);
    assert.match(second!, /\r\nconnection: close\r\n/i);
    assert.match(second!, /"errors":\{"body":\["The service is temporarily unavailable/);
    assert.deepEqual(await within('exit', instance.exited), { code: 0, signal: null });
  });
}
