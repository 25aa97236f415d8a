import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { FastifyPluginAsync, LightMyRequestResponse } from 'fastify';
import { noBody } from 'bastion';
import { Redis } from 'ioredis';
import { BACKENDS, REDIS_URL } from 'bastion/testing';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Attacks on the login, registration and general limits (SPEC §3). The guard is driven through
// test-only routes that call app.loginGuard exactly as a login route does, so hundreds of
// attempts need no password hashing. Time is moved, never waited for: on the memory store the
// clock is mocked; on Redis every counter's TTL is shortened by the same amount.

const RIGHT = 'the-right-password';

/** Under /api, public like the login routes they stand for. */
const testRoutes: FastifyPluginAsync = async (app) => {
  const body = {
    type: 'object',
    additionalProperties: false,
    required: ['account', 'password'],
    properties: { account: { type: 'string', maxLength: 254 }, password: { type: 'string', maxLength: 128 } },
  } as const;
  const response = { 200: { type: 'object', additionalProperties: false, properties: { ok: { type: 'boolean' } } } } as const;
  // A login as the login routes do it: check, then count a failure or clear on success.
  app.post<{ Body: { account: string; password: string } }>(
    '/test-login',
    { config: { access: 'public' }, schema: { body, response } },
    async (request, reply) => {
      await app.loginGuard.check(request, request.body.account);
      if (request.body.password === RIGHT) {
        await app.loginGuard.succeeded(request, request.body.account);
        return { ok: true };
      }
      await app.loginGuard.failed(request, request.body.account);
      return reply.code(401).send({ errors: { 'email or password': ['is invalid'] } });
    },
  );
  // Failures counted without check() first (a caller that skipped it): counted, not checked.
  app.post<{ Body: { account: string; password: string } }>(
    '/test-fail',
    { config: { access: 'public' }, schema: { body, response } },
    async (request, reply) => {
      await app.loginGuard.failed(request, request.body.account);
      return reply.code(401).send({ errors: { body: ['failed'] } });
    },
  );
  app.post('/test-register', { config: { access: 'public' }, schema: { body: noBody, response } }, async (request) => {
    await app.registrationLimit(request);
    return { ok: true };
  });
};

interface Harness extends TestApp {
  login(account: string, password: string, from?: { ip?: string; xff?: string }): Promise<LightMyRequestResponse>;
  /** Moves the limiter's time forward. */
  advance(ms: number): Promise<void>;
  auditCount(event: string): Promise<number>;
}

async function harness(t: TestContext, backend: (typeof BACKENDS)[number], env: Record<string, string> = {}): Promise<Harness> {
  const started = await startTestApp(t, backend, env, {}, { extraRoutes: { api: testRoutes } });
  const redis = started.runtime.redis;
  let advance: (ms: number) => Promise<void>;
  if (redis) {
    const prefix = String(redis.options.keyPrefix);
    const plain = new Redis(REDIS_URL);
    t.after(() => plain.quit());
    advance = async (ms) => {
      const keys = await plain.keys(`${prefix}rl:*`);
      for (const key of keys) {
        const ttl = await plain.pttl(key);
        if (ttl <= ms) await plain.del(key);
        else await plain.pexpire(key, ttl - ms);
      }
    };
  } else {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    advance = async (ms) => t.mock.timers.tick(ms);
  }
  return {
    ...started,
    advance,
    login: (account, password, from = {}) =>
      started.app.inject({
        method: 'POST',
        url: '/api/test-login',
        remoteAddress: from.ip ?? '127.0.0.1',
        headers: from.xff ? { 'x-forwarded-for': from.xff } : {},
        payload: { account, password },
      }),
    async auditCount(event) {
      const row = await started.runtime.db.kysely
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('event', '=', event)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

const retryAfter = (res: { headers: Record<string, unknown> }): number => Number(res.headers['retry-after']);

for (const backend of BACKENDS) {
  test(`[${backend}] the 6th failed login from one IP within a minute is 429 with Retry-After`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 1; i <= 5; i++) assert.equal((await h.login(`victim${i}@example.com`, 'guess')).statusCode, 401);
    const refused = await h.login('victim6@example.com', 'guess');
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) >= 1 && retryAfter(refused) <= 60, `Retry-After ${refused.headers['retry-after']}`);
    assert.deepEqual(Object.keys(refused.json().errors), ['body']);
    // Even the right password waits: the attacker cannot probe during the block.
    assert.equal((await h.login('victim6@example.com', RIGHT)).statusCode, 429);
    assert.equal(await h.auditCount('ratelimit.hit'), 1, 'audited once, not per refused request');
    await h.advance(61_000);
    assert.equal((await h.login('victim6@example.com', RIGHT)).statusCode, 200);
  });

  test(`[${backend}] 100 failed logins per IP per day: refused for the rest of the day`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 100; i++) {
      const res = await h.app.inject({ method: 'POST', url: '/api/test-fail', payload: { account: `user${i}`, password: 'x' } });
      assert.equal(res.statusCode, 401);
    }
    await h.advance(2 * 60_000);
    const refused = await h.login('fresh-account', RIGHT);
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) > 23 * 3600, `Retry-After ${refused.headers['retry-after']}`);
    await h.advance(24 * 3600_000);
    assert.equal((await h.login('fresh-account', RIGHT)).statusCode, 200);
  });

  test(`[${backend}] 5 consecutive failures block account+IP for 15 minutes; a spoofed X-Forwarded-For does not escape it`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 5; i++) assert.equal((await h.login('Alice@Example.com', 'guess')).statusCode, 401);
    const refused = await h.login('alice@example.com', RIGHT);
    assert.equal(refused.statusCode, 429, 'the account key ignores case');
    assert.ok(retryAfter(refused) >= 899 && retryAfter(refused) <= 900, `Retry-After ${refused.headers['retry-after']}`);
    // TRUST_PROXY is off: the header is the attacker's own text and changes nothing.
    for (const xff of ['203.0.113.1', '198.51.100.2, 203.0.113.3', '127.0.0.2']) {
      assert.equal((await h.login('alice@example.com', RIGHT, { xff })).statusCode, 429, `X-Forwarded-For: ${xff}`);
    }
    // The owner elsewhere is not locked out: the block is for this account from this IP.
    assert.equal((await h.login('alice@example.com', RIGHT, { ip: '192.0.2.44' })).statusCode, 200);
    await h.advance(14 * 60_000);
    const still = await h.login('alice@example.com', RIGHT);
    assert.equal(still.statusCode, 429);
    assert.ok(retryAfter(still) <= 60);
    await h.advance(61_000);
    assert.equal((await h.login('alice@example.com', RIGHT)).statusCode, 200);
    assert.equal(await h.auditCount('login.lockout'), 1, 'one lockout event per block');
  });

  test(`[${backend}] a successful login resets the consecutive-failure count of account+IP`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 4; i++) assert.equal((await h.login('bob', 'guess')).statusCode, 401);
    assert.equal((await h.login('bob', RIGHT)).statusCode, 200);
    await h.advance(61_000); // past the per-IP minute
    for (let i = 0; i < 4; i++) assert.equal((await h.login('bob', 'guess')).statusCode, 401);
    assert.equal((await h.login('bob', RIGHT)).statusCode, 200);
    assert.equal(await h.auditCount('login.lockout'), 0);
  });

  test(`[${backend}] a refused attempt counts nothing: 150 attempts at a blocked account+IP leave the address its minute and its day`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 5; i++) assert.equal((await h.login('gina', 'guess')).statusCode, 401);
    await h.advance(61_000); // past the per-IP minute: only the account+IP block refuses
    // Counted first and given back when refused: more refusals than the day allows spend none of it.
    for (let i = 0; i < 150; i++) assert.equal((await h.login('gina', 'guess')).statusCode, 429);
    for (let i = 0; i < 5; i++) assert.equal((await h.login(`other${i}`, 'guess')).statusCode, 401, 'the minute is whole');
    await h.advance(61_000);
    assert.equal((await h.login('other9', RIGHT)).statusCode, 200, 'and so is the day');
    assert.equal(await h.auditCount('login.lockout'), 1);
  });

  test(`[${backend}] with TRUST_PROXY=127.0.0.1 the right-most forwarded address is the client and spoofed left-most entries are ignored`, async (t) => {
    const h = await harness(t, backend, { TRUST_PROXY: '127.0.0.1' });
    // The attacker varies the left-most entry; the trusted proxy appended the real address.
    for (let i = 0; i < 5; i++) {
      assert.equal((await h.login(`acct${i}`, 'guess', { xff: `10.9.9.${i}, 198.51.100.7` })).statusCode, 401);
    }
    assert.equal((await h.login('acct9', RIGHT, { xff: '1.2.3.4, 198.51.100.7' })).statusCode, 429);
    assert.equal((await h.login('acct9', RIGHT, { xff: '198.51.100.7, 198.51.100.8' })).statusCode, 200, 'another client behind the proxy');
    const rows = await h.runtime.db.kysely.selectFrom('audit_log').select('ip').where('event', '=', 'ratelimit.hit').execute();
    assert.deepEqual(
      rows.map((r) => r.ip),
      ['198.51.100.7'],
    );
    // A peer that is not the trusted proxy cannot choose its address with the header.
    for (let i = 0; i < 5; i++)
      assert.equal((await h.login(`other${i}`, 'guess', { ip: '192.0.2.9', xff: `10.0.0.${i}` })).statusCode, 401);
    assert.equal((await h.login('other9', RIGHT, { ip: '192.0.2.9', xff: '10.0.0.200' })).statusCode, 429);
  });

  test(`[${backend}] after 10 failures on one account from many IPs, one attempt per minute gets through (backoff, not lockout)`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 1; i <= 10; i++) assert.equal((await h.login('carol', 'guess', { ip: `10.0.0.${i}` })).statusCode, 401);
    assert.equal((await h.login('carol', 'guess', { ip: '10.0.1.1' })).statusCode, 401, 'the first attempt of the minute proceeds');
    const refused = await h.login('carol', RIGHT, { ip: '10.0.1.2' });
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) >= 1 && retryAfter(refused) <= 60);
    assert.equal((await h.login('dave', 'guess', { ip: '10.0.1.2' })).statusCode, 401, 'other accounts are not slowed');
    await h.advance(61_000);
    assert.equal((await h.login('CAROL', RIGHT, { ip: '192.0.2.1' })).statusCode, 200, 'the owner still gets in');
    assert.equal((await h.login('carol', 'guess', { ip: '10.0.1.3' })).statusCode, 429, 'and the next attempt waits a minute');
  });

  test(`[${backend}] never more than 100 failed logins per account per hour, whatever the source`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 100; i++) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/test-fail',
        remoteAddress: `10.1.${i >> 8}.${i & 255}`,
        payload: { account: 'erin', password: 'x' },
      });
      assert.equal(res.statusCode, 401);
    }
    const refused = await h.login('erin', RIGHT, { ip: '192.0.2.77' });
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) > 3500, `Retry-After ${refused.headers['retry-after']}`);
    await h.advance(16 * 60_000); // the 15-minute backoff window is over; the hourly cap is not
    assert.equal((await h.login('erin', RIGHT, { ip: '192.0.2.78' })).statusCode, 429);
    await h.advance(45 * 60_000);
    assert.equal((await h.login('erin', RIGHT, { ip: '192.0.2.79' })).statusCode, 200);
  });

  test(`[${backend}] registration is limited to 5 per hour per IP`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 5; i++) assert.equal((await h.app.inject({ method: 'POST', url: '/api/test-register' })).statusCode, 200);
    const refused = await h.app.inject({ method: 'POST', url: '/api/test-register' });
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) > 3500 && retryAfter(refused) <= 3600);
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/test-register', remoteAddress: '192.0.2.5' })).statusCode, 200, 'per IP');
    await h.advance(3600_000);
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/test-register' })).statusCode, 200);
  });

  test(`[${backend}] every route is limited to 300 requests per minute per IP; static files and health probes are exempt`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 300; i++) {
      const res = await h.app.inject({ url: '/no-such-page' });
      assert.equal(res.statusCode, 404);
    }
    const refused = await h.app.inject({ url: '/' });
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) >= 1 && retryAfter(refused) <= 60);
    assert.match(String(refused.headers['content-type']), /text\/html/);
    assert.equal((await h.app.inject({ url: '/api/tags' })).statusCode, 429);
    assert.equal((await h.app.inject({ url: '/static/../no-such-page' })).statusCode, 429, 'a path dressed as static is still limited');
    assert.equal((await h.app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await h.app.inject({ url: '/readyz' })).statusCode, 200);
    assert.equal((await h.app.inject({ url: '/static/style.css' })).statusCode, 200);
    assert.equal(
      (await h.app.inject({ url: '/no-such-page', remoteAddress: '192.0.2.3' })).statusCode,
      404,
      'other clients are unaffected',
    );
    assert.equal(await h.auditCount('ratelimit.hit'), 1, 'one audit per window, not per refusal');
    await h.advance(61_000);
    assert.equal((await h.app.inject({ url: '/no-such-page' })).statusCode, 404);
  });

  test(`[${backend}] an IPv6 client that takes a new address in its /64 for every failed login is still refused after 5 in a minute`, async (t) => {
    // Behind the trusted proxy, as deployed: the proxy appends whatever address the client used.
    const h = await harness(t, backend, { TRUST_PROXY: '127.0.0.1' });
    const fromNet = (host: string) => ({ xff: `2001:db8:7:42:${host}` });
    for (const [i, host] of ['0:0:0:1', 'a:b:c:d', 'ffff:ffff:ffff:fffe', '1234::5', '0:0:0:2'].entries()) {
      assert.equal((await h.login(`target${i}`, 'guess', fromNet(host))).statusCode, 401);
    }
    const refused = await h.login('target9', RIGHT, fromNet('9:9:9:9'));
    assert.equal(refused.statusCode, 429, 'the sixth address of the same /64 is the same client');
    assert.equal(
      (await h.login('target9', RIGHT, { xff: '2001:0db8:0007:0042::77' })).statusCode,
      429,
      'written out in full, the same network',
    );
    assert.equal((await h.login('target9', RIGHT, { xff: '2001:db8:7:43::1' })).statusCode, 200, 'the next /64 is another client');
    // The audit keeps the address that was used, not the network it was counted under.
    const rows = await h.runtime.db.kysely.selectFrom('audit_log').select('ip').where('event', '=', 'ratelimit.hit').execute();
    assert.deepEqual(
      rows.map((r) => r.ip),
      ['2001:db8:7:42:9:9:9:9'],
    );
  });

  test(`[${backend}] behind a proxy that writes the client's source port, a new connection does not reset the client's count`, async (t) => {
    const h = await harness(t, backend, { TRUST_PROXY: '127.0.0.1' });
    for (let i = 0; i < 5; i++) assert.equal((await h.login(`port${i}`, 'guess', { xff: `198.51.100.23:${40000 + i}` })).statusCode, 401);
    assert.equal((await h.login('port9', RIGHT, { xff: '198.51.100.23:40009' })).statusCode, 429);
    assert.equal((await h.login('port9', RIGHT, { xff: '[2001:db8:8:8::1]:443' })).statusCode, 200);
    for (let i = 1; i <= 5; i++)
      assert.equal((await h.login(`port${i}`, 'guess', { xff: `[2001:db8:8:8::${i + 1}]:${50000 + i}` })).statusCode, 401);
    assert.equal((await h.login('port9', RIGHT, { xff: '[2001:db8:8:8::9]:50009' })).statusCode, 429);
  });

  test(`[${backend}] five consecutive failures block account+IP for an IPv6 client whichever address of its /64 it comes back from`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 1; i <= 5; i++) assert.equal((await h.login('frank', 'guess', { ip: `2001:db8:9:9::${i}` })).statusCode, 401);
    await h.advance(61_000); // past the per-IP minute: only the account+IP block is left
    assert.equal((await h.login('frank', RIGHT, { ip: '2001:db8:9:9:dead:beef:0:1' })).statusCode, 429);
    assert.equal((await h.login('frank', RIGHT, { ip: '2001:db8:9:a::1' })).statusCode, 200, 'the owner on another network gets in');
  });

  test(`[${backend}] an IPv4 client seen through an IPv4-mapped IPv6 address shares its count`, async (t) => {
    const h = await harness(t, backend);
    for (let i = 0; i < 5; i++) assert.equal((await h.login(`mapped${i}`, 'guess', { ip: '::ffff:192.0.2.60' })).statusCode, 401);
    assert.equal((await h.login('mapped9', RIGHT, { ip: '192.0.2.60' })).statusCode, 429);
  });

  test(`[${backend}] registration and the general limit count an IPv6 client per /64, not per address`, async (t) => {
    const h = await harness(t, backend);
    const register = (ip: string) => h.app.inject({ method: 'POST', url: '/api/test-register', remoteAddress: ip });
    for (let i = 1; i <= 5; i++) assert.equal((await register(`2001:db8:5:5::${i}`)).statusCode, 200);
    assert.equal((await register('2001:db8:5:5::6')).statusCode, 429);
    assert.equal((await register('2001:db8:5:6::6')).statusCode, 200, 'another /64');

    const host = (i: number): string => `2001:db8:3:3:${(i >> 8).toString(16)}:${(i & 255).toString(16)}:0:1`;
    for (let i = 0; i < 300; i++) assert.equal((await h.app.inject({ url: '/no-such-page', remoteAddress: host(i) })).statusCode, 404);
    const refused = await h.app.inject({ url: '/api/tags', remoteAddress: host(300) });
    assert.equal(refused.statusCode, 429);
    assert.ok(retryAfter(refused) >= 1 && retryAfter(refused) <= 60);
    assert.equal(
      (await h.app.inject({ url: '/no-such-page', remoteAddress: '2001:db8:3:4::1' })).statusCode,
      404,
      'other networks are unaffected',
    );
  });

  test(`[${backend}] with Redis down the limiter fails closed: 503, never an unlimited login`, async (t) => {
    const redis = await privateRedis(t);
    const h = await harness(t, backend, { REDIS_URL: redis.url });
    assert.equal((await h.login('frank', 'guess')).statusCode, 401);
    await redis.stop();
    const res = await h.login('frank', RIGHT);
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().errors.body[0], 'The service is temporarily unavailable. Please try again shortly.');
    assert.doesNotMatch(res.body, /redis|ECONNREFUSED|stack/i);
    // Writes fail closed too; anonymous reads are still limited, counted in this process.
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/test-register' })).statusCode, 503);
    assert.equal((await h.app.inject({ url: '/' })).statusCode, 200);
    assert.equal((await h.app.inject({ url: '/healthz' })).statusCode, 200);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of this test's own on a spare port; stop() ends only that process. */
async function privateRedis(t: TestContext): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += String(chunk);
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  child.removeAllListeners('exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);
  return { url: `redis://127.0.0.1:${port}`, stop };
}
