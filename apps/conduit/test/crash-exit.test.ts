import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CRASH_EXIT_CODE } from 'bastion';
import { isolate, randomKey } from 'bastion/testing';
import { startInstance, within, type Instance } from './helpers/server-process.js';
import {
  OUTSIDE_REJECTION_MESSAGE,
  OUTSIDE_THROW_MESSAGE,
  PENDING_MESSAGE,
  REJECTION_MESSAGE,
  TIMER_MESSAGE,
} from './fixtures/crash-routes.js';

// An error nothing caught ends the process: a real Bastion process (the production startServer)
// logs one fatal line with the error and the id of the request whose work threw (the id on that
// request's own log lines and in its x-request-id header), and exits non-zero for its supervisor
// to restart it. The failures are the ones a handler cannot catch: a throw in a timer a request
// started, a promise a request left rejected, and the same outside any request. The failure is
// set off by a later request, so "the last request seen" would log the wrong id. No storage is
// involved: SQLite only.

const ENTRY = fileURLToPath(new URL('./fixtures/crash-server.ts', import.meta.url));
const FATAL = 60;

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly reqId?: string;
  readonly origin?: string;
  readonly err?: { readonly type: string; readonly message: string; readonly stack?: string };
  readonly req?: { readonly url: string };
}

async function crashFixture(t: TestContext, env: Record<string, string> = {}): Promise<Instance> {
  const iso = await isolate('sqlite');
  t.after(() => iso.cleanup());
  return startInstance(t, { entry: ENTRY, env: { ...iso.env, SECRET_KEY: randomKey(), LOG_LEVEL: 'debug', ...env } });
}

/** The JSON log lines the process wrote (its stderr's text, if any, is not JSON and is skipped). */
function logLines(instance: Instance): LogLine[] {
  return instance
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The process's exit, which must come, non-zero, within the bound; then its one fatal line. */
async function crashed(instance: Instance): Promise<{ fatal: LogLine; lines: LogLine[] }> {
  assert.deepEqual(await within('exit after the crash', instance.exited), { code: CRASH_EXIT_CODE, signal: null });
  assert.notEqual(CRASH_EXIT_CODE, 0);
  const lines = logLines(instance);
  const fatal = lines.filter((l) => l.level === FATAL);
  assert.equal(fatal.length, 1, `one fatal line, got:\n${instance.logs()}`);
  return { fatal: fatal[0]!, lines };
}

/** Sets the failure off from another request (its id differs from the crashing request's). */
async function arm(instance: Instance): Promise<string> {
  const res = await fetch(`${instance.url}/api/test-crash/arm`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
  return res.headers.get('x-request-id')!;
}

test('a throw in a timer a request started: one fatal line with that request id and the error, exit non-zero', async (t) => {
  const instance = await crashFixture(t);
  const res = await fetch(`${instance.url}/api/test-crash/timer`);
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(body), { started: true });
  const reqId = res.headers.get('x-request-id');
  assert.ok(reqId);
  const health = await fetch(`${instance.url}/healthz`);
  const otherIds = [health.headers.get('x-request-id'), await arm(instance)];

  const { fatal, lines } = await crashed(instance);
  assert.equal(fatal.reqId, reqId, 'the id of the request whose timer threw');
  assert.ok(!otherIds.includes(fatal.reqId!), 'not the id of a later request');
  assert.equal(fatal.origin, 'uncaughtException');
  assert.equal(fatal.err?.message, TIMER_MESSAGE);
  assert.equal(fatal.err?.type, 'Error');
  assert.match(fatal.err?.stack ?? '', /crash-routes\.ts/, 'the stack is in the log');
  const own = lines.find((l) => l.msg === 'request completed' && l.req?.url === '/api/test-crash/timer');
  assert.equal(own?.reqId, reqId, "the request's own access line carries the same id");
  assert.ok(!body.includes('crash-fixture') && !/\bat \S+:\d+/.test(body), 'nothing of the failure reached the client');
});

test("a rejected promise a request left unhandled: one fatal line with that request's id, not the headers or body its error carries, exit non-zero", async (t) => {
  const instance = await crashFixture(t);
  const bodySecret = `body-secret-${randomBytes(8).toString('hex')}`;
  const tokenSecret = `token-secret-${randomBytes(8).toString('hex')}`;
  const cookieSecret = `cookie-secret-${randomBytes(8).toString('hex')}`;
  // Under names the log's redaction does not know: only leaving them out keeps them out.
  const headerSecret = `header-secret-${randomBytes(8).toString('hex')}`;
  // A body, so the request's context has to survive body parsing too.
  const res = await fetch(`${instance.url}/api/test-crash/rejection`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Token ${tokenSecret}`,
      cookie: `session=${cookieSecret}`,
      'x-partner-key': headerSecret,
    },
    body: JSON.stringify({ note: bodySecret }),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  assert.deepEqual(JSON.parse(body), { started: true });
  const reqId = res.headers.get('x-request-id');
  assert.ok(reqId);
  const armId = await arm(instance);

  const { fatal, lines } = await crashed(instance);
  assert.equal(fatal.reqId, reqId);
  assert.notEqual(fatal.reqId, armId, 'not the id of the request that set it off');
  assert.equal(fatal.origin, 'unhandledRejection');
  assert.equal(fatal.err?.message, REJECTION_MESSAGE);
  assert.match(fatal.err?.stack ?? '', /crash-routes\.ts/);
  assert.deepEqual(Object.keys(fatal.err ?? {}).sort(), ['message', 'stack', 'type'], 'the error, not the request it carries');
  const own = lines.find((l) => l.msg === 'request completed' && l.req?.url === '/api/test-crash/rejection');
  assert.equal(own?.reqId, reqId);
  for (const secret of [bodySecret, tokenSecret, cookieSecret, headerSecret])
    assert.ok(!instance.logs().includes(secret), `${secret} reached the log`);
});

test('a request waiting when its own timer throws: its client gets no answer and no detail, the id is logged, the exit does not wait for it', async (t) => {
  const instance = await crashFixture(t);
  const outcome = await fetch(`${instance.url}/api/test-crash/pending`).then(
    async (res) => ({ answered: true, text: `${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}` }),
    (err: Error) => ({ answered: false, text: `${err.message} ${String(err.cause)}` }),
  );
  const { fatal, lines } = await crashed(instance);
  assert.equal(outcome.answered, false, `the connection closes without an answer: ${outcome.text}`);
  assert.ok(!outcome.text.includes('crash-fixture'), 'nothing of the failure reached the client');
  // At debug level a request is logged as it arrives: its id, before any answer.
  const incoming = lines.find((l) => l.msg === 'incoming request' && l.req?.url === '/api/test-crash/pending');
  assert.ok(incoming?.reqId);
  assert.equal(fatal.reqId, incoming.reqId);
  assert.equal(fatal.err?.message, PENDING_MESSAGE);
  // The drain waits for that request forever; the crash's own deadline (shorter than SIGTERM's) ends it.
  assert.ok(
    lines.some((l) => l.msg.startsWith('crash exit deadline passed')),
    'the exit came at the crash deadline',
  );
});

test('a throw outside any request: a fatal line without a request id, exit non-zero', async (t) => {
  const instance = await crashFixture(t);
  await fetch(`${instance.url}/healthz`); // a request has been served, and is over
  instance.child.kill('SIGUSR2');
  const { fatal } = await crashed(instance);
  assert.ok(!('reqId' in fatal), `no request id: ${JSON.stringify(fatal)}`);
  assert.equal(fatal.origin, 'uncaughtException');
  assert.equal(fatal.err?.message, OUTSIDE_THROW_MESSAGE);
});

test('a rejection outside any request: a fatal line without a request id, exit non-zero', async (t) => {
  const instance = await crashFixture(t, { CRASH_OUTSIDE: 'reject' });
  await fetch(`${instance.url}/healthz`);
  instance.child.kill('SIGUSR2');
  const { fatal } = await crashed(instance);
  assert.ok(!('reqId' in fatal), `no request id: ${JSON.stringify(fatal)}`);
  assert.equal(fatal.origin, 'unhandledRejection');
  assert.equal(fatal.err?.message, OUTSIDE_REJECTION_MESSAGE);
});
