import assert from 'node:assert/strict';
import { test } from 'node:test';
import argon2 from 'argon2';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { BACKENDS, confirmationTokenFor, confirmByLink, loggedInBrowser } from 'bastion/testing';
import { api, makeUser, STRONG_PASSWORD, type TestUser } from './helpers/conduit-api.js';
import { pauseNextCall } from './helpers/pause-next-call.js';
import { startTestApp } from './helpers/test-app.js';
import type { Runtime } from 'bastion';

// SPEC §2: a new password or email needs the current password on both faces, so whoever holds a
// stolen token or session cannot move the account to an address of theirs (and reset it from
// there) or lock the owner out. A wrong current password is a failed login, counted by the login
// limits; an email change is an address probe ("has already been taken"), limited like
// registration. The stored email sent back (RealWorld clients send it with every save) is no change.

const NEW_PASSWORD = 'a-new-Strong-passphrase-9';

/** PUT /api/user with the user's token, from a given client address. */
const put = (app: FastifyInstance, user: TestUser, fields: Record<string, unknown>, ip = '127.0.0.1'): Promise<LightMyRequestResponse> =>
  app.inject({
    method: 'PUT',
    url: '/api/user',
    remoteAddress: ip,
    headers: { ...user.headers, 'content-type': 'application/json' },
    payload: JSON.stringify({ user: fields }),
  });

const storedEmail = async (runtime: Runtime, id: number): Promise<string> =>
  (await runtime.db.kysely.selectFrom('users').select('email').where('id', '=', id).executeTakeFirstOrThrow()).email;

const signsIn = async (app: FastifyInstance, email: string, password: string): Promise<boolean> =>
  (await api(app, 'POST', '/api/users/login', { body: { user: { email, password } } })).statusCode === 200;

const auditRows = (runtime: Runtime, event: string) =>
  runtime.db.kysely.selectFrom('audit_log').select(['actor_id', 'details']).where('event', '=', event).orderBy('id').execute();

for (const backend of BACKENDS) {
  test(`[${backend}] a stolen token alone cannot change the password or the email through PUT /api/user`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    await makeUser(app, runtime, 'taken');
    const attempts: Array<[Record<string, unknown>, Record<string, string[]>]> = [
      [{ password: NEW_PASSWORD }, { currentPassword: ['is required'] }],
      [{ email: 'thief@evil.example' }, { currentPassword: ['is required'] }],
      [{ email: 'thief@evil.example', currentPassword: '' }, { currentPassword: ['is required'] }],
      [{ password: NEW_PASSWORD, currentPassword: 'a guess at the password' }, { currentPassword: ['is invalid'] }],
      [{ email: 'thief@evil.example', currentPassword: 'a guess at the password' }, { currentPassword: ['is invalid'] }],
      // Without the password, a taken address is not even looked up: no probe.
      [{ email: 'taken@example.com', currentPassword: 'a guess at the password' }, { currentPassword: ['is invalid'] }],
    ];
    for (const [fields, errors] of attempts) {
      const res = await put(app, jake, fields);
      assert.equal(res.statusCode, 422, JSON.stringify(fields));
      assert.deepEqual(res.json().errors, errors, JSON.stringify(fields));
    }
    assert.equal(await storedEmail(runtime, jake.id), 'jake@example.com');
    assert.ok(await signsIn(app, jake.email, STRONG_PASSWORD), 'the password is unchanged');
    assert.equal((await app.inject({ url: '/api/user', headers: jake.headers })).statusCode, 200, 'no refusal ended the token');
    assert.deepEqual(await auditRows(runtime, 'email.change'), []);

    // The owner, who knows the password, changes both.
    const moved = await put(app, jake, { email: 'Jake@New.Example', currentPassword: STRONG_PASSWORD });
    assert.equal(moved.statusCode, 200);
    // Requested, not applied: the answer keeps the old address until the new one's link is followed.
    assert.equal(moved.json().user.email, 'jake@example.com');
    assert.equal(moved.json().user.token, jake.token, 'an email change keeps the token');
    const [change, ...more] = await auditRows(runtime, 'email.change');
    assert.equal(more.length, 0);
    assert.equal(change!.actor_id, jake.id);
    assert.deepEqual(JSON.parse(change!.details), { via: 'api', stage: 'requested', fromDomain: 'example.com', toDomain: 'new.example' });
    // The link is followed in a page session of the same account (signed in with the old address).
    const owner = await loggedInBrowser(app, { email: 'jake@example.com', password: STRONG_PASSWORD, username: jake.username });
    const link = await confirmByLink(owner, await confirmationTokenFor(app, 'jake@new.example'));
    assert.equal(link.headers.location, '/email/confirmed?result=changed');
    assert.equal(await storedEmail(runtime, jake.id), 'jake@new.example');
    const changed = await put(app, jake, { password: NEW_PASSWORD, currentPassword: STRONG_PASSWORD });
    assert.equal(changed.statusCode, 200);
    assert.ok(await signsIn(app, 'jake@new.example', NEW_PASSWORD));
  });

  test(`[${backend}] a RealWorld save that sends back the stored email, in any case, needs no password`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const res = await put(app, jake, {
      email: ' JAKE@Example.com',
      username: 'jake',
      bio: 'I like dragons',
      image: 'https://example.com/a.png',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().user.bio, 'I like dragons');
    assert.equal(await storedEmail(runtime, jake.id), 'jake@example.com');
    assert.deepEqual(await auditRows(runtime, 'email.change'), []);
  });

  test(`[${backend}] the settings form changes the email only with the current password`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const owner = await makeUser(app, runtime, 'owner');
    // A stolen session: it is signed in, but its holder does not know the password.
    const browser = await loggedInBrowser(app, { email: owner.email, password: STRONG_PASSWORD, username: owner.username });
    const form = (fields: Record<string, string>) =>
      browser.post('/settings', { image: '', username: owner.username, bio: '', email: owner.email, ...fields }, { from: '/settings' });

    const missing = await form({ email: 'thief@evil.example' });
    assert.equal(missing.statusCode, 422);
    assert.match(missing.body, /current password is required/);
    assert.match(missing.body, /value="thief@evil.example"/, 'the form keeps what was typed');
    const wrong = await form({ email: 'thief@evil.example', currentPassword: 'a guess at the password' });
    assert.equal(wrong.statusCode, 422);
    assert.match(wrong.body, /current password is invalid/);
    assert.doesNotMatch(wrong.body, /a guess at the password/, 'the password typed is never echoed');
    assert.equal(await storedEmail(runtime, owner.id), owner.email);

    const sameEmail = await form({ email: owner.email.toUpperCase(), bio: 'just the bio' });
    assert.equal(sameEmail.statusCode, 303, 'a save that keeps the email needs no password');

    const moved = await form({ email: 'owner@new.example', currentPassword: STRONG_PASSWORD });
    assert.equal(moved.statusCode, 303);
    assert.equal(moved.headers.location, '/settings?done=email-pending');
    assert.equal(await storedEmail(runtime, owner.id), owner.email, 'not before the new address confirms');
    await confirmByLink(browser, await confirmationTokenFor(app, 'owner@new.example'));
    assert.equal(await storedEmail(runtime, owner.id), 'owner@new.example');
    const rows = await auditRows(runtime, 'email.change');
    assert.deepEqual(
      rows.map((r) => [r.actor_id, JSON.parse(r.details)]),
      [
        [owner.id, { via: 'page', stage: 'requested', fromDomain: 'example.com', toDomain: 'new.example' }],
        [owner.id, { stage: 'completed', fromDomain: 'example.com', toDomain: 'new.example' }],
      ],
    );
  });

  test(`[${backend}] a wrong current password is a failed login: the login limits count it per account+IP and per account`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    // Per account+IP (and IP): five wrong guesses through the API, then even the right password
    // is refused from that address, through the API, the settings form and the login alike.
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++)
      guesses.push(
        (await put(app, jake, { email: `guess${i}@evil.example`, currentPassword: `guess number ${i} here` }, '192.0.2.7')).statusCode,
      );
    assert.deepEqual(guesses, [422, 422, 422, 422, 422]);
    assert.equal((await put(app, jake, { password: NEW_PASSWORD, currentPassword: STRONG_PASSWORD }, '192.0.2.7')).statusCode, 429);
    const login = await app.inject({
      method: 'POST',
      url: '/api/users/login',
      remoteAddress: '192.0.2.7',
      payload: { user: { email: jake.email, password: STRONG_PASSWORD } },
    });
    assert.equal(login.statusCode, 429, 'the login counts the same failures');
    const failures = await auditRows(runtime, 'login.failure');
    assert.equal(failures.filter((r) => JSON.parse(r.details).reason === 'current-password').length, 5);

    // Per account, from many addresses: 10 wrong guesses in 15 minutes start the account's
    // backoff (one attempt a minute), which the logins meet too.
    const mary = await makeUser(app, runtime, 'mary');
    for (let i = 0; i < 10; i++)
      assert.equal(
        (await put(app, mary, { password: NEW_PASSWORD, currentPassword: `spread guess ${i}` }, `198.51.100.${i + 1}`)).statusCode,
        422,
      );
    const loginFrom = (ip: string) =>
      app.inject({
        method: 'POST',
        url: '/api/users/login',
        remoteAddress: ip,
        payload: { user: { email: mary.email, password: 'yet another guess' } },
      });
    assert.equal((await loginFrom('198.51.100.50')).statusCode, 401, 'the first attempt of the minute is let through');
    assert.equal((await loginFrom('198.51.100.51')).statusCode, 429, 'the next is refused: the account counted the guesses');
  });

  test(`[${backend}] email-change attempts are limited like registration: 5 per hour per IP and per account, then 429`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    for (let i = 0; i < 8; i++) await makeUser(app, runtime, `known${i}`);
    const probe = (user: TestUser, i: number, ip: string) =>
      put(app, user, { email: `known${i}@example.com`, currentPassword: STRONG_PASSWORD }, ip);

    // Per IP: an attacker with two accounts of their own probes addresses from one address.
    const a = await makeUser(app, runtime, 'prober_a');
    const b = await makeUser(app, runtime, 'prober_b');
    const fromOneIp = [
      await probe(a, 0, '203.0.113.5'),
      await probe(a, 1, '203.0.113.5'),
      await probe(a, 2, '203.0.113.5'),
      await probe(b, 3, '203.0.113.5'),
      await probe(b, 4, '203.0.113.5'),
    ];
    for (const res of fromOneIp) assert.deepEqual(res.json().errors, { email: ['has already been taken'] });
    const sixth = await probe(b, 5, '203.0.113.5');
    assert.equal(sixth.statusCode, 429);
    assert.ok(Number(sixth.headers['retry-after']) > 0);

    // Per account: one account from many addresses, the last through the settings form.
    const c = await makeUser(app, runtime, 'prober_c');
    for (let i = 0; i < 5; i++) assert.equal((await probe(c, i, `203.0.113.${20 + i}`)).statusCode, 422);
    const browser = await loggedInBrowser(app, { email: c.email, password: STRONG_PASSWORD, username: c.username });
    const viaForm = await browser.post(
      '/settings',
      { image: '', username: c.username, bio: '', email: 'known6@example.com', currentPassword: STRONG_PASSWORD },
      { from: '/settings' },
    );
    assert.equal(viaForm.statusCode, 429);
    const hits = await runtime.db.kysely.selectFrom('audit_log').select('details').where('event', '=', 'ratelimit.hit').execute();
    assert.equal(hits.filter((h) => JSON.parse(h.details).limit === 'email-change').length, 2, 'each limit hit is audited once');

    // A save that keeps the email is no probe and is never counted.
    assert.equal((await put(app, b, { email: b.email, bio: 'still me' }, '203.0.113.5')).statusCode, 200);
  });

  test(`[${backend}] an email change whose password check was under way when the owner logged out everywhere is refused`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const owner = await makeUser(app, runtime, 'owner');
    // A thief holds a token and knows the password; the owner logs out everywhere while the
    // thief's email change is in its password check.
    const ownerBrowser = await loggedInBrowser(app, { email: owner.email, password: STRONG_PASSWORD, username: owner.username });
    const stolen = { ...owner, headers: { authorization: `Token ${await app.apiTokens.issue(owner.id, 'stolen')}` } };
    const pause = pauseNextCall(t, argon2, 'verify');
    const change = put(app, stolen, { email: 'owner@evil.example', currentPassword: STRONG_PASSWORD });
    await pause.started;
    assert.equal((await ownerBrowser.post('/settings/logout-everywhere', {}, { from: '/settings' })).statusCode, 303);
    pause.release();
    const res = await change;
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().errors, { currentPassword: ['is invalid'] });
    assert.equal(await storedEmail(runtime, owner.id), owner.email);
  });
}
