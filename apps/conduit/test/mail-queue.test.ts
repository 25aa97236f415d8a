import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import type { MailerOverrides, Wait } from 'bastion';
import { BACKENDS, type BackendName, listMailFailures } from 'bastion/testing';
import { freePort } from './helpers/smtp-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// The queue's bounds, in time and in size, against real sockets: a port nobody listens on, and
// a server that takes the connection and never says a word (the slow or hung mail server).

const TEMPLATES = fileURLToPath(new URL('./fixtures/mail/', import.meta.url));
const data = (token: string) => ({ username: 'carol', link: `https://conduit.example.com/email/confirm/${token}` });

/** A TCP server that accepts and then stays silent: no SMTP greeting ever comes. */
async function silentServer(t: TestContext): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, sockets };
}

async function appFor(t: TestContext, backend: BackendName, port: number, mailer: MailerOverrides): Promise<TestApp> {
  return startTestApp(
    t,
    backend,
    { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'no-reply@conduit.example.com' },
    {},
    { mailer: { templatesDir: TEMPLATES, ...mailer } },
  );
}

/** Waits for the stop signal only: a mail in backoff stays there until shutdown. */
const untilShutdown: Wait = (_ms, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

for (const backend of BACKENDS) {
  test(`[${backend}] the queue is bounded: beyond its limit a mail is refused, logged and recorded, not kept`, async (t) => {
    const port = await freePort(); // nobody listens: every attempt fails and waits for a retry
    const { app, runtime, logs } = await appFor(t, backend, port, { queueLimit: 2, wait: untilShutdown });
    const token = randomBytes(32).toString('base64url');
    assert.equal(app.mailer.send({ to: 'a@example.com', template: 'greeting', data: data(token) }).status, 'queued');
    assert.equal(app.mailer.send({ to: 'b@example.com', template: 'greeting', data: data(token) }).status, 'queued');
    assert.deepEqual(app.mailer.send({ to: 'c@example.com', template: 'greeting', data: data(token) }), {
      status: 'refused',
      reason: 'queue-full',
    });
    assert.equal(app.mailer.pending, 2, 'the refused mail is not held anywhere');

    // Shutdown: the two waiting mails get their last attempt at once, fail, and are recorded.
    await app.mailer.close();
    assert.deepEqual(app.mailer.send({ to: 'd@example.com', template: 'greeting', data: data(token) }), {
      status: 'refused',
      reason: 'closed',
    });
    const failures = await listMailFailures(runtime.db);
    assert.deepEqual(failures.map((f) => [f.recipient, f.reason]).sort(), [
      ['a@example.com', 'shutdown'],
      ['b@example.com', 'shutdown'],
      ['c@example.com', 'queue-full'],
    ]);
    assert.equal(failures.find((f) => f.reason === 'queue-full')?.error, 'EQUEUEFULL');
    assert.ok(!logs().includes(token));
  });

  test(`[${backend}] a flood of refusals is not a flood of database writes: failure records in flight are bounded`, async (t) => {
    const port = await freePort();
    const { app, runtime, logs } = await appFor(t, backend, port, { queueLimit: 1, wait: untilShutdown });
    const results = Array.from(
      { length: 300 },
      (_, i) => app.mailer.send({ to: `u${i}@example.com`, template: 'greeting', data: data('x') }).status,
    );
    assert.equal(results.filter((s) => s === 'queued').length, 1);
    await app.mailer.close(); // the one queued mail waits for a retry until shutdown; close() also awaits the records
    const stored = await listMailFailures(runtime.db, { limit: 1000 });
    assert.equal(stored.filter((f) => f.reason === 'queue-full').length, 100, 'the first hundred refusals recorded, the rest only logged');
    // 299 refusals and the one mail dropped at shutdown: each is either recorded or logged as not recorded.
    assert.equal(stored.length + (logs().match(/mail failure not recorded: too many at once/g) ?? []).length, 300);
    assert.equal((logs().match(/"msg":"mail could not be sent"/g) ?? []).length, 300, 'every one is logged');
  });

  test(`[${backend}] a server that accepts and never greets is given up at the greeting timeout, not waited on forever`, async (t) => {
    const silent = await silentServer(t);
    const { app, runtime } = await appFor(t, backend, silent.port, {
      timeouts: { connectionMs: 1_000, greetingMs: 150 },
      retry: { maxAttempts: 2 },
      wait: async () => {},
    });
    app.mailer.send({ to: 'a@example.com', template: 'greeting', data: data('x') });
    await app.mailer.settled();
    assert.equal(silent.sockets.length, 2, 'two attempts, each a connection');
    const [failure] = await listMailFailures(runtime.db);
    assert.deepEqual([failure?.reason, failure?.attempts], ['retries-exhausted', 2]);
    assert.match(failure?.error ?? '', /^ETIMEDOUT/);
  });

  test(`[${backend}] shutdown waits a bounded time for the queue, then logs and records what it drops`, async (t) => {
    const silent = await silentServer(t);
    const { app, runtime, logs } = await appFor(t, backend, silent.port, { drainMs: 100 });
    app.mailer.send({ to: 'a@example.com', template: 'greeting', data: data('x') });
    while (silent.sockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await app.mailer.close(); // the mail is mid-delivery to a server that never answers
    assert.match(logs(), /"dropped":1,"msg":"mail still queued at shutdown was dropped"/);
    const failures = await listMailFailures(runtime.db);
    assert.deepEqual(
      failures.map((f) => [f.recipient, f.reason, f.error]),
      [['a@example.com', 'shutdown', 'ESHUTDOWN']],
    );
  });
}
