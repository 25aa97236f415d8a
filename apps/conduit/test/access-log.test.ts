import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// The access log (packages/bastion/src/http/access-log.ts): one line per request, written when it finishes, with
// what an operator needs to trace it (method, URL with secret query values redacted, client
// address, status, time) and nothing at info level on arrival.

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string; ip: string };
  res?: { statusCode: number };
  responseTime?: number;
}
const parse = (log: string): Line[] =>
  log
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);

for (const backend of BACKENDS) {
  test(`[${backend}] each request is logged once, when it finishes, with method, redacted URL, client, status and time`, async (t) => {
    const { app, logs } = await startTestApp(t, backend, { LOG_LEVEL: 'info' });
    // A refused query (limit=0 is out of range) is logged like any other answer, its URL as sent and redacted.
    const res = await app.inject({ url: '/api/articles?limit=0&token=abc123secret', remoteAddress: '198.51.100.7' });
    assert.equal(res.statusCode, 422);
    const reqId = res.headers['x-request-id'];
    // The error handler adds its own "request refused" line; the access line is one.
    const lines = parse(logs()).filter((l) => l.reqId === reqId && l.req !== undefined);
    assert.equal(lines.length, 1, 'exactly one access line for the request');
    const [line] = lines;
    assert.equal(line!.msg, 'request completed');
    assert.deepEqual(line!.req, { method: 'GET', url: '/api/articles?limit=0&token=[REDACTED]', ip: '198.51.100.7' });
    assert.deepEqual(line!.res, { statusCode: 422 });
    assert.ok(typeof line!.responseTime === 'number' && line!.responseTime >= 0);
    assert.ok(!logs().includes('abc123secret'));
    assert.ok(!logs().includes('incoming request'), 'no arrival line at info level');
  });

  test(`[${backend}] at debug level a request is also logged on arrival`, async (t) => {
    const { app, logs } = await startTestApp(t, backend, { LOG_LEVEL: 'debug' });
    const res = await app.inject({ url: '/api/tags' });
    const lines = parse(logs()).filter((l) => l.reqId === res.headers['x-request-id']);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['incoming request', 'request completed'],
    );
  });
}
