import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import argon2 from 'argon2';
import type { Runtime } from 'bastion';
import { BACKENDS, newBrowser, LOGIN_RULES } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// The login limits count an attempt before its password is checked, so a burst of parallel
// guesses cannot all pass a check that none of them has counted yet (SPEC §3: 5 failed per
// minute per IP). Proven by what the server did, not by time: the argon2 verifications it ran
// and the failures it audited, against the limit.

const BURST = 16;

/** Runs `attempts` together and returns their statuses and how many passwords were verified meanwhile. */
async function burst(attempts: (() => Promise<{ statusCode: number }>)[]): Promise<{ statuses: number[]; verified: number }> {
  const spy = mock.method(argon2, 'verify');
  try {
    const statuses = (await Promise.all(attempts.map((attempt) => attempt()))).map((res) => res.statusCode);
    return { statuses, verified: spy.mock.callCount() };
  } finally {
    spy.mock.restore();
  }
}

const count = (statuses: number[], status: number): number => statuses.filter((s) => s === status).length;

async function failures(runtime: Runtime): Promise<number> {
  const row = await runtime.db.kysely
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('event', '=', 'login.failure')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

for (const backend of BACKENDS) {
  test(`[${backend}] ${BURST} parallel wrong API logins from one address: only ${LOGIN_RULES.ipMinute.points} passwords are checked, the rest are 429`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const users = await Promise.all(Array.from({ length: BURST }, (_, i) => makeUser(app, runtime, `racer${i}`)));
    const { statuses, verified } = await burst(
      users.map(
        (u) => () => api(app, 'POST', '/api/users/login', { body: { user: { email: u.email, password: `${STRONG_PASSWORD}-wrong` } } }),
      ),
    );
    assert.equal(verified, LOGIN_RULES.ipMinute.points, `passwords verified: ${verified}`);
    assert.equal(count(statuses, 401), LOGIN_RULES.ipMinute.points, statuses.join(','));
    assert.equal(count(statuses, 429), BURST - LOGIN_RULES.ipMinute.points, statuses.join(','));
    assert.equal(await failures(runtime), LOGIN_RULES.ipMinute.points, 'one audited failure per checked password');
    // The refused attempts took their counts back: the limit holds exactly its 5.
    const next = await api(app, 'POST', '/api/users/login', { body: { user: { email: users[0]!.email, password: STRONG_PASSWORD } } });
    assert.equal(next.statusCode, 429);
  });

  test(`[${backend}] ${BURST} parallel wrong logins through the form from one browser: only ${LOGIN_RULES.ipMinute.points} passwords are checked`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = newBrowser(app);
    const csrf = await browser.csrf('/login');
    const { statuses, verified } = await burst(
      Array.from(
        { length: BURST },
        (_, i) => () =>
          browser.post('/login', { email: `nobody${i}@example.com`, password: 'wrong-password-123', _csrf: csrf }, { csrf: false }),
      ),
    );
    assert.equal(verified, LOGIN_RULES.ipMinute.points, `passwords verified: ${verified}`);
    assert.equal(count(statuses, 422), LOGIN_RULES.ipMinute.points, statuses.join(','));
    assert.equal(count(statuses, 429), BURST - LOGIN_RULES.ipMinute.points, statuses.join(','));
    assert.equal(await failures(runtime), LOGIN_RULES.ipMinute.points);
  });

  test(`[${backend}] ${BURST} parallel wrong logins on one account from ${BURST} addresses: only the window's 10 and the backoff's one are checked`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const victim = await makeUser(app, runtime, 'victim');
    const { statuses, verified } = await burst(
      Array.from(
        { length: BURST },
        (_, i) => () =>
          app.inject({
            method: 'POST',
            url: '/api/users/login',
            remoteAddress: `10.77.0.${i + 1}`,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify({ user: { email: victim.email, password: `${STRONG_PASSWORD}-wrong` } }),
          }),
      ),
    );
    const allowed = LOGIN_RULES.accountWindow.points + LOGIN_RULES.accountBackoff.points;
    assert.equal(verified, allowed, `passwords verified: ${verified}`);
    assert.equal(count(statuses, 401), allowed, statuses.join(','));
    assert.equal(count(statuses, 429), BURST - allowed, statuses.join(','));
  });

  test(`[${backend}] a right password gives its count back: after four failures from one address, sign-ins there do not use up the fifth`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const owners = await Promise.all(Array.from({ length: 3 }, (_, i) => makeUser(app, runtime, `office${i}`)));
    const login = (email: string, password: string) => api(app, 'POST', '/api/users/login', { body: { user: { email, password } } });
    for (let i = 0; i < LOGIN_RULES.ipMinute.points - 1; i++)
      assert.equal((await login(`typo${i}@example.com`, 'typo-typo-typo')).statusCode, 401);
    for (const owner of owners) assert.equal((await login(owner.email, STRONG_PASSWORD)).statusCode, 200);
    assert.equal((await login('typo9@example.com', 'typo-typo-typo')).statusCode, 401, 'the fifth failure is still allowed');
    assert.equal((await login(owners[0]!.email, STRONG_PASSWORD)).statusCode, 429, 'then the address waits');
  });
}
