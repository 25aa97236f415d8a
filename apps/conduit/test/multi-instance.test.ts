import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { BACKENDS, randomKey, TestClient } from 'bastion/testing';
import { startCluster, type Cluster } from './helpers/cluster.js';

// Several real Bastion processes on their own loopback ports, one PostgreSQL schema and one Redis
// prefix between them: what N instances behind a load balancer are. Each attack is made on one
// instance and its refusal expected on another, so anything one instance kept in its own memory
// (a session, a counter, a revoked token) would show up as a difference between them.

const SKIP = BACKENDS.includes('postgres')
  ? false
  : 'BASTION_TEST_BACKENDS excludes postgres: several instances need a shared PostgreSQL and Redis';

let clients = 0;
/** A fresh client address for each simulated client, reported by the trusted proxy. */
const clientIp = (): string => {
  clients += 1;
  return `10.99.${(clients >> 8) & 255}.${clients & 255}`;
};

// What the API answers, read loosely: a wrong shape fails the assertion that reads it.
type Json = { user: { token: string }; profile: { bio: string } };

interface Account {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly token: string;
}

/** An API call to instance `base` from a client address of its own (or `ip`), the answer's JSON read as `body`. */
async function api(base: string, method: string, path: string, options: { body?: unknown; token?: string; ip?: string } = {}) {
  const client = new TestClient(base, { headers: { 'x-forwarded-for': options.ip ?? clientIp() } });
  const res = await client.request({
    method,
    url: path,
    ...(options.body !== undefined ? { json: options.body } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  return { status: res.statusCode, body: (res.body === '' ? null : JSON.parse(res.body)) as Json, headers: res.headers };
}

/** A browser with JavaScript off that the load balancer sends to whichever instance it likes: each call names the instance, while cookies (host-only for 127.0.0.1 and, as in a real browser, not split by port), the Origin it presents and its client address stay its own. */
const newBrowser = (cluster: Cluster): TestClient =>
  new TestClient(cluster.origin, { origin: cluster.origin, headers: { 'x-forwarded-for': clientIp() } });

/** Whether instance `base` sees a logged-in user (/settings needs one; anonymous gets 303 /login). */
async function loggedInAs(browser: TestClient, base: string): Promise<string | null> {
  const res = await browser.get(`${base}/settings`);
  if (res.statusCode === 303 && String(res.headers.location ?? '').startsWith('/login')) return null;
  if (res.statusCode !== 200) throw new Error(`unexpected /settings answer ${res.statusCode} from ${base}`);
  const m = /name="username" value="([^"]*)"/.exec(res.body);
  if (!m) throw new Error('the settings page shows no username');
  return m[1]!;
}

/** Registers through POST /api/users on `base`, from its own client address. */
async function register(base: string): Promise<Account> {
  const username = `u${randomBytes(5).toString('hex')}`;
  const email = `${username}@example.com`;
  const password = `violet ${randomBytes(8).toString('hex')} kettle`;
  const res = await api(base, 'POST', '/api/users', { body: { user: { username, email, password } } });
  assert.equal(res.status, 201, `registration: ${JSON.stringify(res.body)}`);
  return { username, email, password, token: res.body.user.token };
}

const login = (base: string, email: string, password: string, ip?: string) =>
  api(base, 'POST', '/api/users/login', { body: { user: { email, password } }, ...(ip ? { ip } : {}) });

const whoAmI = async (base: string, token: string): Promise<number> => (await api(base, 'GET', '/api/user', { token })).status;

const urls = (cluster: Cluster): string[] => cluster.instances.map((i) => i.url);

// One cluster of three serves the tests below (each with its own accounts and client addresses),
// so the processes start once; the key rotation further down needs instances of its own.
describe('multi-instance: three instances, one PostgreSQL, one Redis', { skip: SKIP }, () => {
  let cluster: Cluster;
  // Suite hooks have no t.after: the cluster's cleanups are collected here and run in after().
  const cleanups: Array<() => unknown> = [];
  const suite = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  before(async () => {
    cluster = await startCluster(suite, 3);
  });
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  test('a session made on one instance is the same logged-in session on every other, CSRF tokens included', async () => {
    const [a, b, c] = urls(cluster) as [string, string, string];
    const user = await register(c);
    const browser = newBrowser(cluster);

    const res = await browser.login(user.email, user.password, `${a}/login`);
    assert.equal(res.statusCode, 303, 'login on A');
    assert.ok(browser.jar.has('session'));
    for (const base of [a, b, c]) assert.equal(await loggedInAs(browser, base), user.username, `logged in on ${base}`);

    // A form shown by B, posted to C: the token is bound to the shared session, not to B.
    const saved = await browser.submit(`${b}/settings`, `${c}/settings`, {
      image: '',
      username: user.username,
      bio: 'written through C',
      email: user.email,
    });
    assert.equal(saved.statusCode, 303, `form from B accepted by C (${saved.statusCode})`);
    const profile = await api(a, 'GET', `/api/profiles/${user.username}`);
    assert.equal(profile.body.profile.bio, 'written through C');

    // A cookie no instance issued is anonymous on all of them (the check above could not pass by accident).
    const stranger = newBrowser(cluster);
    stranger.jar.set(
      'session',
      browser.jar.get('session')!.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')),
    );
    for (const base of [a, b, c]) assert.equal(await loggedInAs(stranger, base), null);
  });

  test('after logout on A, the old session cookie and its CSRF token are refused by B', async () => {
    const [a, b] = urls(cluster) as [string, string];
    const user = await register(a);
    const browser = newBrowser(cluster);
    assert.equal((await browser.login(user.email, user.password, `${b}/login`)).statusCode, 303);
    assert.equal(await loggedInAs(browser, b), user.username);
    const stolenCookie = browser.jar.get('session')!;
    const stolenCsrf = await browser.csrf(`${b}/settings`);

    const out = await browser.submit(`${b}/settings`, `${a}/logout`, {});
    assert.equal(out.statusCode, 303, 'logout on A');
    assert.equal(browser.jar.has('session'), false, 'A cleared the cookie');

    // The attacker who copied the cookie before the logout replays it on B.
    const thief = newBrowser(cluster);
    thief.jar.set('session', stolenCookie);
    assert.equal(await loggedInAs(thief, b), null, 'B: the session is gone');
    assert.equal(await loggedInAs(thief, a), null, 'A: the session is gone');
    const write = await thief.post(
      `${b}/settings`,
      { image: '', username: 'taken-over', bio: 'pwned', email: user.email, _csrf: stolenCsrf },
      { csrf: false },
    );
    // The dead session is no one: the member-only form sends it to sign in, before CSRF is read.
    assert.equal(write.statusCode, 303, 'a form posted with the dead session and its token is refused');
    assert.match(String(write.headers.location ?? ''), /^\/login\b/);
    const profile = await api(a, 'GET', `/api/profiles/${user.username}`);
    assert.equal(profile.status, 200, 'the username did not change');
    assert.equal(profile.body.profile.bio, '');
  });

  test('ten failed logins from one address split over two instances trip the per-address limit on both', async () => {
    const [a, b] = urls(cluster) as [string, string];
    const victim = await register(a);
    const attacker = '203.0.113.66';
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res = await login(i % 2 === 0 ? a : b, victim.email, `guess number ${i} of many`, attacker);
      statuses.push(res.status);
      if (res.status === 429) retryAfter ??= (res.headers['retry-after'] as string | undefined) ?? null;
    }
    // Five failures per minute per address, counted together: A saw only five attempts and B
    // five, so instance-local counters would never have refused any of them.
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    assert.ok(retryAfter !== null && Number(retryAfter) >= 1, 'the refusal says when to retry');
    // The right password from the attacker's address is refused too, on either instance…
    assert.equal((await login(a, victim.email, victim.password, attacker)).status, 429);
    assert.equal((await login(b, victim.email, victim.password, attacker)).status, 429);
    // …while the owner, from their own address, is not locked out.
    assert.equal((await login(b, victim.email, victim.password)).status, 200);
  });

  test('ten failed logins on one account from ten addresses over two instances start the account backoff on both', async () => {
    const [a, b] = urls(cluster) as [string, string];
    const victim = await register(a);
    for (let i = 0; i < 10; i++) {
      const res = await login(i % 2 === 0 ? a : b, victim.email, `distributed guess ${i}`);
      assert.equal(res.status, 401, `attempt ${i + 1} is counted, not refused`);
    }
    // After 10 failures in 15 minutes, one attempt per minute goes through, from anywhere.
    assert.equal((await login(a, victim.email, 'one more guess')).status, 401, 'the first attempt of the minute is let through');
    const refused = await login(b, victim.email, 'and another');
    assert.equal(refused.status, 429, 'the second in that minute is refused by the other instance');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
  });

  test('a password change on A revokes every API token and session on A and B', async () => {
    const [a, b] = urls(cluster) as [string, string];
    const user = await register(a);
    const second = await login(b, user.email, user.password);
    assert.equal(second.status, 200);
    const tokenFromB: string = second.body.user.token;
    const browser = newBrowser(cluster);
    assert.equal((await browser.login(user.email, user.password, `${b}/login`)).statusCode, 303);
    // Before: every credential works everywhere.
    for (const base of [a, b]) {
      assert.equal(await whoAmI(base, user.token), 200);
      assert.equal(await whoAmI(base, tokenFromB), 200);
      assert.equal(await loggedInAs(browser, base), user.username);
    }

    const newPassword = `cobalt ${randomBytes(8).toString('hex')} lantern`;
    const changed = await api(a, 'PUT', '/api/user', {
      token: user.token,
      body: { user: { password: newPassword, currentPassword: user.password } },
    });
    assert.equal(changed.status, 200);
    const fresh: string = changed.body.user.token;
    assert.notEqual(fresh, user.token);

    for (const base of [a, b]) {
      assert.equal(await whoAmI(base, user.token), 401, `the token used for the change is dead on ${base}`);
      assert.equal(await whoAmI(base, tokenFromB), 401, `the token issued by B is dead on ${base}`);
      assert.equal(await loggedInAs(browser, base), null, `the session is dead on ${base}`);
      assert.equal(await whoAmI(base, fresh), 200, `the new token works on ${base}`);
    }
    assert.equal((await login(b, user.email, user.password)).status, 401, 'the old password is refused on B');
    assert.equal((await login(b, user.email, newPassword)).status, 200, 'the new password works on B');
  });
});

test('multi-instance: a rolling SECRET_KEY rotation over both instances logs nobody out', { skip: SKIP }, async (t) => {
  const cluster = await startCluster(t, 2);
  const oldKey = cluster.secretKey;
  const newKey = randomKey();
  const user = await register(cluster.instances[0]!.url);
  const browser = newBrowser(cluster);
  assert.equal((await browser.login(user.email, user.password, `${cluster.instances[0]!.url}/login`)).statusCode, 303);
  const cookieUnderOldKey = browser.jar.get('session')!;
  let bio = 0;

  // Every step: the browser is still logged in on both instances, and a form rendered by one
  // instance posts to the other (the CSRF token's key is checked too).
  const stillIn = async (step: string) => {
    const [a, b] = urls(cluster) as [string, string];
    for (const base of [a, b, a]) assert.equal(await loggedInAs(browser, base), user.username, `${step}: logged in on ${base}`);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      bio += 1;
      const res = await browser.submit(`${from}/settings`, `${to}/settings`, {
        image: '',
        username: user.username,
        bio: `step ${bio}`,
        email: user.email,
      });
      assert.equal(res.statusCode, 303, `${step}: form from ${from} posted to ${to}`);
    }
  };
  await stillIn('before');
  // 1. Every instance learns the new key as a fallback: it verifies with it, still signs with the old.
  await cluster.replace(0, { SECRET_KEY: oldKey, SECRET_KEY_FALLBACKS: newKey });
  await stillIn('A knows the new key');
  await cluster.replace(1, { SECRET_KEY: oldKey, SECRET_KEY_FALLBACKS: newKey });
  await stillIn('both know the new key');
  // 2. Every instance signs with the new key and still accepts the old one.
  await cluster.replace(0, { SECRET_KEY: newKey, SECRET_KEY_FALLBACKS: oldKey });
  await stillIn('A signs with the new key');
  await cluster.replace(1, { SECRET_KEY: newKey, SECRET_KEY_FALLBACKS: oldKey });
  await stillIn('both sign with the new key');

  // The browser's cookie was re-signed on the way: an instance that no longer knows the old key
  // (step 3, once every session signed before step 2 has expired) still has it logged in, while
  // the cookie as it was signed under the old key is refused there — the key really is checked.
  assert.notEqual(browser.jar.get('session'), cookieUnderOldKey);
  const newOnly = await cluster.add({ SECRET_KEY: newKey });
  assert.equal(await loggedInAs(browser, newOnly.url), user.username);
  const replay = newBrowser(cluster);
  replay.jar.set('session', cookieUnderOldKey);
  assert.equal(await loggedInAs(replay, newOnly.url), null);
});
