import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, newBrowser, randomKey, registeredBrowser } from 'bastion/testing';
import { api, STRONG_PASSWORD } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';

// SPEC §3 "logs": pino JSON with passwords, tokens, cookies, Authorization and secrets redacted.
// Everything a user and an attacker do below is logged at trace level; none of the secrets
// involved may appear in the captured log.

for (const backend of BACKENDS) {
  test(`[${backend}] the log at trace level holds no password, token, cookie, CSRF token or key`, async (t) => {
    const secretKey = randomKey();
    const fallbackKey = randomKey();
    const { app, logs } = await startTestApp(t, backend, { LOG_LEVEL: 'trace', SECRET_KEY: secretKey, SECRET_KEY_FALLBACKS: fallbackKey });
    const secrets: string[] = [secretKey, fallbackKey, STRONG_PASSWORD];

    // The JSON API: register, login, use the token, change the password, fail a login.
    const reg = await api(app, 'POST', '/api/users', {
      body: { user: { username: 'logged_larry', email: 'larry@example.com', password: STRONG_PASSWORD } },
    });
    assert.equal(reg.statusCode, 201);
    const token = reg.json().user.token as string;
    secrets.push(token);
    await app.inject({ url: '/api/user', headers: { authorization: `Token ${token}` } });
    const newPassword = 'another long and unguessable phrase';
    secrets.push(newPassword);
    await app.inject({
      method: 'PUT',
      url: '/api/user',
      headers: { authorization: `Token ${token}` },
      payload: { user: { password: newPassword, currentPassword: STRONG_PASSWORD } },
    });
    const wrongPassword = 'a wrong guess that is long enough';
    secrets.push(wrongPassword);
    await api(app, 'POST', '/api/users/login', { body: { user: { email: 'larry@example.com', password: wrongPassword } } });
    // A password in a body that fails validation, and secrets in a query string.
    const smuggled = 'smuggled-password-in-a-bad-body';
    secrets.push(smuggled);
    await app.inject({
      method: 'POST',
      url: '/api/users/login',
      headers: { 'content-type': 'application/json' },
      payload: `{"user":{"email":1,"password":"${smuggled}","x":1}}`,
    });
    const inUrl = 'query-token-value-0123456789';
    secrets.push(inUrl);
    await app.inject({ url: `/api/articles?token=${inUrl}&api_key=${inUrl}&reset_password=${inUrl}` });

    // The HTML face: register, a session cookie, a CSRF token, logout.
    const browser = await registeredBrowser(app);
    secrets.push(browser.password);
    const csrf = await browser.csrf('/settings');
    secrets.push(csrf);
    for (const pair of browser.cookieHeader.split('; ')) secrets.push(pair.slice(pair.indexOf('=') + 1));
    await browser.post('/logout', {}, { from: '/settings' });
    const stranger = newBrowser(app);
    await stranger.post('/login', { email: browser.email, password: browser.password }, { from: '/login' });

    const log = logs();
    assert.ok(log.includes('incoming request') && log.includes('audit login.failure'), 'requests and audit events were captured');
    for (const secret of secrets) assert.ok(!log.includes(secret), `a secret of ${secret.length} characters leaked into the log`);
    assert.doesNotMatch(log, /"(authorization|cookie|set-cookie)":"(?!\[REDACTED\])/i);
  });
}
