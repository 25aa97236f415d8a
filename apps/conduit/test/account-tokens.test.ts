import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, ACCOUNT_TOKEN_LIFETIME_MS } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// The tokens account mail carries, attacked the ways a stolen or old mail would be used: twice,
// late, after a password change, for another purpose, guessed, or by two requests at once.

for (const backend of BACKENDS) {
  const start = async (t: Parameters<typeof startTestApp>[0]) => {
    let clock = Date.parse('2026-12-05T12:00:00Z');
    const { app, runtime } = await startTestApp(t, backend, {}, {}, { now: () => clock });
    const user = await makeUser(app, runtime, `tok${Math.random().toString(36).slice(2, 8)}`);
    return { app, runtime, user, tick: (ms: number) => void (clock += ms) };
  };

  test(`[${backend}] an account token is 256 random bits, stored only as its hash, and works once`, async (t) => {
    const { app, runtime, user } = await start(t);
    const token = await app.accountTokens.issue(user.id, 'reset', user.email);
    assert.match(token, /^[\w-]{43}$/);
    const rows = await runtime.db.kysely.selectFrom('account_tokens').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(token), 'the token itself is not stored');
    assert.deepEqual(await app.accountTokens.peek('reset', token), { userId: user.id, email: user.email });
    assert.deepEqual(await app.accountTokens.consume('reset', token), { userId: user.id, email: user.email });
    assert.equal(await app.accountTokens.consume('reset', token), null, 'a second use is refused');
    assert.equal(await app.accountTokens.peek('reset', token), null);
  });

  test(`[${backend}] two requests spending one token at once get one grant between them`, async (t) => {
    const { app, user } = await start(t);
    const token = await app.accountTokens.issue(user.id, 'reset', user.email);
    const grants = await Promise.all(Array.from({ length: 8 }, () => app.accountTokens.consume('reset', token)));
    assert.equal(grants.filter((g) => g !== null).length, 1);
  });

  test(`[${backend}] a reset token expires after 30 minutes, a confirmation after 24 hours`, async (t) => {
    const { app, user, tick } = await start(t);
    const reset = await app.accountTokens.issue(user.id, 'reset', user.email);
    const confirm = await app.accountTokens.issue(user.id, 'confirm', user.email);
    assert.equal(ACCOUNT_TOKEN_LIFETIME_MS.reset, 30 * 60_000);
    tick(30 * 60_000 - 1);
    assert.ok(await app.accountTokens.peek('reset', reset), 'still live just before 30 minutes');
    tick(1);
    assert.equal(await app.accountTokens.consume('reset', reset), null, 'dead at 30 minutes');
    tick(24 * 60 * 60_000 - 30 * 60_000 - 1);
    assert.ok(await app.accountTokens.peek('confirm', confirm));
    tick(1);
    assert.equal(await app.accountTokens.consume('confirm', confirm), null);
  });

  test(`[${backend}] a password change voids every account token still out`, async (t) => {
    const { app, user } = await start(t);
    const reset = await app.accountTokens.issue(user.id, 'reset', user.email);
    const confirm = await app.accountTokens.issue(user.id, 'confirm', user.email);
    const res = await api(app, 'PUT', '/api/user', {
      user,
      body: { user: { password: 'amber-Lantern-52-quietly', currentPassword: STRONG_PASSWORD } },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await app.accountTokens.consume('reset', reset), null);
    assert.equal(await app.accountTokens.consume('confirm', confirm), null);
  });

  test(`[${backend}] using a token spends the user's other tokens of its purpose, not another purpose's or another user's`, async (t) => {
    const { app, runtime, user } = await start(t);
    const other = await makeUser(app, runtime, `oth${Math.random().toString(36).slice(2, 8)}`);
    const first = await app.accountTokens.issue(user.id, 'reset', user.email);
    const second = await app.accountTokens.issue(user.id, 'reset', user.email);
    const confirm = await app.accountTokens.issue(user.id, 'confirm', user.email);
    const theirs = await app.accountTokens.issue(other.id, 'reset', other.email);
    assert.ok(await app.accountTokens.consume('reset', second));
    assert.equal(await app.accountTokens.consume('reset', first), null, 'the older reset mail is dead');
    assert.ok(await app.accountTokens.peek('confirm', confirm));
    assert.ok(await app.accountTokens.peek('reset', theirs));
  });

  test(`[${backend}] a token is good only for its own purpose, and guessed or malformed ones find nothing`, async (t) => {
    const { app, user } = await start(t);
    const reset = await app.accountTokens.issue(user.id, 'reset', user.email);
    assert.equal(await app.accountTokens.consume('confirm', reset), null);
    assert.equal(await app.accountTokens.consume('email-change', reset), null);
    for (const guess of [
      '',
      'x',
      reset.slice(0, -1),
      `${reset}A`,
      reset.toUpperCase() === reset ? reset.toLowerCase() : reset.toUpperCase(),
      "' OR 1=1 --".padEnd(43, 'x'),
      '\u0000'.repeat(43),
    ]) {
      assert.equal(await app.accountTokens.consume('reset', guess), null, JSON.stringify(guess));
    }
    assert.ok(await app.accountTokens.consume('reset', reset), 'the real one still works after the guesses');
  });
}
