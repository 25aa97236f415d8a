import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import argon2 from 'argon2';
import { BACKENDS, newBrowser } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "unknown user at login": the same message, status and comparable time as a wrong
// password. Time is proven by its cause rather than by a stopwatch (this machine is noisy):
// every failed login, whatever the reason, costs exactly one argon2id verification against a
// hash with the production parameters; the unknown email is verified against a dummy hash.

const PARAMS = /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/;

/** Runs `attempt` and returns the hashes argon2.verify was asked to check meanwhile. */
async function verifiedHashes(attempt: () => Promise<unknown>): Promise<string[]> {
  const spy = mock.method(argon2, 'verify');
  try {
    await attempt();
    return spy.mock.calls.map((c) => String(c.arguments[0]));
  } finally {
    spy.mock.restore();
  }
}

for (const backend of BACKENDS) {
  test(`[${backend}] unknown email, wrong password and locked account each cost one argon2id verification, through both faces`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const locked = await makeUser(app, runtime, 'locked_lou');
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('id', '=', locked.id).execute();
    const cases = [
      { what: 'unknown email', email: 'nobody-here@example.com', password: STRONG_PASSWORD },
      { what: 'wrong password', email: jake.email, password: `${STRONG_PASSWORD}-wrong` },
      { what: 'locked account', email: locked.email, password: STRONG_PASSWORD },
    ];
    const apiAnswers = new Set<string>();
    const pageAnswers = new Set<string>();
    for (const c of cases) {
      const viaApi = await verifiedHashes(async () => {
        const res = await api(app, 'POST', '/api/users/login', { body: { user: { email: c.email, password: c.password } } });
        apiAnswers.add(`${res.statusCode} ${JSON.stringify(res.json().errors)}`);
      });
      assert.equal(viaApi.length, 1, `API, ${c.what}: one verification`);
      assert.match(viaApi[0]!, PARAMS, `API, ${c.what}: production parameters`);

      const browser = newBrowser(app);
      const viaPage = await verifiedHashes(async () => {
        const res = await browser.post('/login', { email: c.email, password: c.password }, { from: '/login' });
        pageAnswers.add(`${res.statusCode} ${/<ul class="errors">[\s\S]*?<\/ul>/.exec(res.body)?.[0] ?? ''}`);
      });
      assert.equal(viaPage.length, 1, `page, ${c.what}: one verification`);
      assert.match(viaPage[0]!, PARAMS, `page, ${c.what}: production parameters`);
    }
    assert.equal(apiAnswers.size, 1, `one API answer for all three: ${[...apiAnswers].join(' | ')}`);
    assert.equal(pageAnswers.size, 1, `one page answer for all three: ${[...pageAnswers].join(' | ')}`);
  });

  test(`[${backend}] a browser holding a device cookie gets the same answer and one verification for an unknown email, a wrong password and a locked account`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const locked = await makeUser(app, runtime, 'locked_lou');
    // The browser signed in to both accounts before: it holds a device cookie for each.
    const browser = newBrowser(app);
    for (const user of [jake, locked])
      assert.equal((await browser.post('/login', { email: user.email, password: STRONG_PASSWORD })).statusCode, 303);
    assert.match(browser.cookieHeader, new RegExp(`device-${jake.id}=.*device-${locked.id}=`));
    await runtime.db.kysely.updateTable('users').set({ locked_at: new Date().toISOString() }).where('id', '=', locked.id).execute();
    const answers = new Set<string>();
    const cases = [
      ['unknown email', 'nobody-here@example.com', STRONG_PASSWORD],
      ['wrong password', jake.email, `${STRONG_PASSWORD}-wrong`],
      ['locked account', locked.email, STRONG_PASSWORD],
    ] as const;
    for (const [what, email, password] of cases) {
      const hashes = await verifiedHashes(async () => {
        const res = await browser.post('/login', { email, password }, { from: '/login' });
        answers.add(`${res.statusCode} ${/<ul class="errors">[\s\S]*?<\/ul>/.exec(res.body)?.[0] ?? ''}`);
      });
      assert.equal(hashes.length, 1, `${what}: one verification`);
    }
    assert.equal(answers.size, 1, [...answers].join(' | '));
  });

  test(`[${backend}] a hash made with weaker parameters is replaced on the next successful login`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const weak = await argon2.hash(STRONG_PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await runtime.db.kysely.updateTable('users').set({ password_hash: weak }).where('id', '=', jake.id).execute();
    const res = await api(app, 'POST', '/api/users/login', { body: { user: { email: jake.email, password: STRONG_PASSWORD } } });
    assert.equal(res.statusCode, 200);
    const row = await runtime.db.kysely.selectFrom('users').select('password_hash').where('id', '=', jake.id).executeTakeFirstOrThrow();
    assert.match(row.password_hash, PARAMS);
    assert.ok(await argon2.verify(row.password_hash, STRONG_PASSWORD));
    // Another account with the same password, hashed by the same hasher.
    const elsa = await makeUser(app, runtime, 'elsa');
    const twin = await runtime.db.kysely.selectFrom('users').select('password_hash').where('id', '=', elsa.id).executeTakeFirstOrThrow();
    assert.notEqual(row.password_hash, twin.password_hash, 'salted: two hashes of one password differ');
  });
}
