import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { CDPSession, Page } from 'playwright-core';
import { BACKENDS, newBrowser } from 'bastion/testing';
import { ApiClient, nextClientIp, openSession, startListeningApp, useBrowser, type BrowserSession } from './helpers/chromium.js';

// Passkeys in real Chromium with the DevTools virtual authenticator (a CTAP2 platform
// authenticator with resident keys and user verification): packages/bastion/public/passkeys.js runs under the
// site's CSP (`script-src 'self'`, no inline script), every page watched for violations and
// errors. The app is reached as http://localhost:<port>, its PUBLIC_ORIGIN: an IP address is no
// RP ID. A member adds a passkey from /settings/security, signs out, and signs in from /login
// with no password. A look-alike site (another origin with the same RP ID, which the browser
// allows) relays a sign-in ceremony: the assertion it collects names its own origin and the
// site refuses it. With JavaScript off, no passkey control is shown and every page still works.
// Screenshots of the passkey section and the login page, desktop and phone.

const browser = useBrowser();

async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function click(
  session: BrowserSession,
  page: Page,
  selector: string,
  expectPath: (path: string, search: string) => boolean,
): Promise<void> {
  await Promise.all([page.waitForURL((url) => expectPath(url.pathname, url.search), { waitUntil: 'load' }), page.click(selector)]);
  await session.settle(page);
}

for (const backend of BACKENDS) {
  test(`[${backend}] in Chromium a member adds a passkey in security settings, signs out, signs in with it and no password, then with the password and it as the second factor; a look-alike origin relaying the ceremony is refused`, async (t) => {
    const target = await startListeningApp(t, backend, {}, { hostname: 'localhost' });
    assert.match(target.baseUrl, /^http:\/\/localhost:\d+$/);
    const member = await new ApiClient(target.baseUrl).register(`pk${randomBytes(3).toString('hex')}`);
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp() });
    const page = await session.newPage();
    const { cdp, authenticatorId } = await virtualAuthenticator(page);

    await session.visit(page, '/login');
    await page.fill('form.stack input[name=email]', member.email);
    await page.fill('form.stack input[name=password]', member.password);
    await click(session, page, 'form.stack button[type=submit]', (p) => p === '/');

    await session.visit(page, '/settings');
    await click(session, page, 'a[href="/settings/security"]', (p) => p === '/settings/security');
    assert.equal(await page.locator('form[data-passkey=register]').isVisible(), true, 'the script shows the add form');
    assert.equal(await page.locator('.passkeys .empty').textContent(), 'No passkeys yet.');
    await page.fill('form[data-passkey=register] input[name=name]', 'Work laptop');
    await click(
      session,
      page,
      'form[data-passkey=register] button[type=submit]',
      (p, q) => p === '/settings/security' && q === '?done=passkey-added',
    );
    assert.equal(await page.locator('.notice').textContent(), 'Your passkey was added.');
    assert.equal(await page.locator('.passkey-list input[name=name]').inputValue(), 'Work laptop');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]!.isResidentCredential, true, 'a discoverable credential');
    assert.equal(credentials[0]!.rpId, 'localhost');
    await session.screenshot(page, 'passkeys-settings');

    await click(session, page, '.nav-links form[action="/logout"] button', (p) => p === '/');
    await session.visit(page, '/login');
    assert.equal(await page.locator('form[data-passkey=sign-in]').isVisible(), true);
    await session.screenshot(page, 'passkeys-login');
    await click(session, page, 'form[data-passkey=sign-in] button[type=submit]', (p) => p === '/');
    assert.equal(await page.locator(`.nav-links a[href="/profile/${member.username}"]`).count(), 1, 'signed in with the passkey alone');
    const [success] = await target.runtime.db.kysely
      .selectFrom('audit_log')
      .select('details')
      .where('event', '=', 'login.success')
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    assert.equal(JSON.parse(success!.details).method, 'passkey');
    await click(session, page, '.nav-links form[action="/logout"] button', (p) => p === '/');

    // The passkey as a second factor: the password alone now leads to /login/two-factor, where
    // the script offers the passkey; the session starts only once the authenticator has answered.
    await session.visit(page, '/login');
    await page.fill('form.stack input[name=email]', member.email);
    await page.fill('form.stack input[name=password]', member.password);
    await click(session, page, 'form.stack button[type=submit]', (p) => p === '/login/two-factor');
    assert.equal(await page.locator(`.nav-links a[href="/profile/${member.username}"]`).count(), 0, 'the password alone signs nobody in');
    assert.equal(await page.locator('form[data-passkey=sign-in]').isVisible(), true, 'the script shows the passkey way');
    await session.screenshot(page, 'passkeys-second-factor');
    await click(session, page, 'form[data-passkey=sign-in] button[type=submit]', (p) => p === '/');
    assert.equal(await page.locator(`.nav-links a[href="/profile/${member.username}"]`).count(), 1, 'signed in with password and passkey');
    const [second] = await target.runtime.db.kysely
      .selectFrom('audit_log')
      .select('details')
      .where('event', '=', 'login.success')
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    assert.equal(JSON.parse(second!.details).method, 'passkey');
    await click(session, page, '.nav-links form[action="/logout"] button', (p) => p === '/');

    // The relay: an attacker's client asks the site for a sign-in challenge and has the victim's
    // browser answer it on a look-alike page at another origin under the same RP ID (localhost).
    const attacker = newBrowser(target.app);
    const optionsRes = await attacker.postJson('/login/passkey/options', {}, { from: '/login', form: '/login/passkey' });
    const options = optionsRes.json<PublicKeyCredentialRequestOptionsJSON>();
    const lookAlike = `http://localhost:${Number(new URL(target.baseUrl).port) === 65535 ? 65534 : Number(new URL(target.baseUrl).port) + 1}`;
    await page.route(`${lookAlike}/**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Conduit</title><h1>Sign in</h1>' }),
    );
    await page.goto(`${lookAlike}/login`);
    const relayed = (await page.evaluate(`(${COLLECT_ASSERTION})(${JSON.stringify(options)})`)) as AuthenticationResponseJSON;
    assert.equal(
      JSON.parse(Buffer.from(relayed.response.clientDataJSON, 'base64url').toString()).origin,
      lookAlike,
      'the browser names the page that asked',
    );
    const res = await attacker.postJson('/login/passkey', { credential: relayed }, { from: '/login' });
    assert.equal(res.statusCode, 401, res.body);
    const [failure] = await target.runtime.db.kysely
      .selectFrom('audit_log')
      .select('details')
      .where('event', '=', 'login.failure')
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    assert.deepEqual(JSON.parse(failure!.details), { method: 'passkey', reason: 'invalid' });
    assert.equal((await attacker.get('/settings')).statusCode, 303, 'the attacker is not signed in');
    session.assertClean();
  });

  test(`[${backend}] with JavaScript off no passkey control shows, the login form works, and the passkey section says adding needs JavaScript`, async (t) => {
    const target = await startListeningApp(t, backend, {}, { hostname: 'localhost' });
    const member = await new ApiClient(target.baseUrl).register(`nojs${randomBytes(3).toString('hex')}`);
    const session = await openSession(t, browser(), target, { clientIp: nextClientIp(), javaScriptEnabled: false });
    const page = await session.newPage();
    await session.visit(page, '/login');
    assert.equal(await page.locator('form[data-passkey=sign-in]').isVisible(), false);
    await page.fill('form.stack input[name=email]', member.email);
    await page.fill('form.stack input[name=password]', member.password);
    await Promise.all([page.waitForURL((url) => url.pathname === '/'), page.click('form.stack button[type=submit]')]);
    await session.visit(page, '/settings/security');
    assert.equal(await page.locator('form[data-passkey=register]').isVisible(), false);
    assert.match((await page.locator('.passkeys').textContent()) ?? '', /Adding a passkey needs JavaScript/);
    await session.screenshot(page, 'passkeys-settings-no-js');
  });
}

/**
 * Runs in the look-alike page: navigator.credentials.get with the site's options, as JSON. Text,
 * not a function: the test runner's transpiler would put helpers in a function the page lacks.
 */
const COLLECT_ASSERTION = `async (options) => {
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=/g, '');
  const credential = await navigator.credentials.get({ publicKey: { challenge: bytes(options.challenge), rpId: options.rpId, userVerification: 'required', allowCredentials: [] } });
  const r = credential.response;
  return {
    id: credential.id,
    rawId: b64(credential.rawId),
    type: 'public-key',
    clientExtensionResults: {},
    response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature), ...(r.userHandle ? { userHandle: b64(r.userHandle) } : {}) },
  };
}`;
