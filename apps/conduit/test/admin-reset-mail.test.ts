import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { type BackendName, BACKENDS, memberBrowser, newBrowser } from 'bastion/testing';
import { setRole } from './helpers/conduit-fixtures.js';
import { createTestSmtpServer, type TestSmtpServer } from './helpers/smtp-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Issue 19 item 5: an admin may send a user a reset mail (never see or set a password) and
// see the mail that could not be sent. Over a real SMTP server on loopback with STARTTLS.

const LOGIN = { user: 'mailer', pass: `pw-${randomBytes(12).toString('hex')}` };

async function adminTest(t: TestContext, backend: BackendName, rejectWith?: number): Promise<TestApp & { smtp: TestSmtpServer }> {
  const smtp = await createTestSmtpServer({ login: LOGIN, ...(rejectWith ? { rejectWith } : {}) });
  await smtp.start();
  t.after(() => smtp.close());
  const env = {
    SMTP_URL: `smtp://${LOGIN.user}:${LOGIN.pass}@127.0.0.1:${smtp.port}`,
    MAIL_FROM: 'Conduit <no-reply@conduit.example.com>',
    PUBLIC_ORIGIN: 'https://conduit.example.com',
  };
  const testApp = await startTestApp(t, backend, env, {}, { mailer: { tlsCa: smtp.ca, retry: { maxAttempts: 2 }, wait: async () => {} } });
  return { ...testApp, smtp };
}

for (const backend of BACKENDS) {
  test(`[${backend}] an admin sends a user a reset mail: delivered with a working link, audited, no password shown or set; a member or a forged form cannot`, async (t) => {
    const { app, runtime, smtp } = await adminTest(t, backend);
    const admin = await memberBrowser(app, runtime);
    await setRole(runtime, admin.username, 'admin');
    const user = await memberBrowser(app, runtime);
    const id = (await runtime.db.kysely.selectFrom('users').select('id').where('username', '=', user.username).executeTakeFirstOrThrow())
      .id;
    const hashBefore = (await runtime.db.kysely.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow())
      .password_hash;

    const member = await memberBrowser(app, runtime);
    assert.equal((await member.post(`/admin/users/${id}/reset-mail`, {})).statusCode, 403, 'a member is refused');
    assert.equal(
      (await admin.post(`/admin/users/${id}/reset-mail`, { _csrf: 'forged' }, { csrf: false })).statusCode,
      403,
      'a form without the CSRF token is refused',
    );
    assert.equal(smtp.connections(), 0);

    const list = await admin.get('/admin');
    assert.match(list.body, new RegExp(`action="/admin/users/${id}/reset-mail"`), 'the users page has the button');
    const sent = await admin.post(`/admin/users/${id}/reset-mail`, { back: '/admin' }, { from: '/admin' });
    assert.equal(sent.statusCode, 303);
    const after = await admin.get(String(sent.headers.location));
    assert.match(after.body, /A password reset mail was queued/);
    assert.doesNotMatch(after.body, /type="password"/, 'no password field for the admin');

    const [mail] = await smtp.waitForMessages(1);
    assert.deepEqual(mail!.rcptTo, [user.email]);
    const token = /\/password\/reset\/([\w-]{43})/.exec(String(mail!.parsed.text))![1]!;
    assert.equal(
      (await runtime.db.kysely.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash,
      hashBefore,
      'the password is untouched',
    );
    assert.equal((await user.get('/settings')).statusCode, 200, "the user's session lives until they choose a new password");

    const owner = newBrowser(app);
    await owner.get(`/password/reset/${token}`);
    assert.equal(
      (await owner.post('/password/reset', { password: 'the owner picks this one 2027' }, { from: '/password/reset' })).statusCode,
      303,
    );
    assert.equal((await user.get('/settings')).statusCode, 303, 'now the old session is gone');

    const rows = await runtime.db.kysely
      .selectFrom('audit_log')
      .select(['event', 'actor_name', 'details'])
      .where('event', 'like', 'password.reset.%')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.event, r.actor_name]),
      [
        ['password.reset.request', admin.username],
        ['password.reset.complete', user.username],
      ],
    );
    assert.match(rows[0]!.details, new RegExp(`"via":"admin","outcome":"queued","account":${id}`));
    assert.ok(rows.every((r) => !r.details.includes(token)));
  });

  test(`[${backend}] no reset mail for a locked account, nor for the admin's own account through /admin`, async (t) => {
    const { app, runtime, smtp } = await adminTest(t, backend);
    const admin = await memberBrowser(app, runtime);
    await setRole(runtime, admin.username, 'admin');
    const user = await memberBrowser(app, runtime);
    const ids = await runtime.db.kysely
      .selectFrom('users')
      .select(['id', 'username'])
      .where('username', 'in', [admin.username, user.username])
      .execute();
    const idOf = (name: string) => ids.find((r) => r.username === name)!.id;
    await runtime.db.kysely
      .updateTable('users')
      .set({ locked_at: new Date().toISOString() })
      .where('id', '=', idOf(user.username))
      .execute();

    assert.doesNotMatch(
      (await admin.get('/admin')).body,
      new RegExp(`action="/admin/users/${idOf(user.username)}/reset-mail"`),
      'no button for a locked account',
    );
    const locked = await admin.post(`/admin/users/${idOf(user.username)}/reset-mail`, { back: '/admin' }, { from: '/admin' });
    assert.equal(locked.statusCode, 303);
    assert.match((await admin.get(String(locked.headers.location))).body, /The account is locked: no reset mail was sent/);
    assert.equal(
      (await admin.post(`/admin/users/${idOf(admin.username)}/reset-mail`, { back: '/admin' }, { from: '/admin' })).statusCode,
      403,
      'an admin resets their own password the way everyone does',
    );
    await app.passwordResets.settled();
    assert.equal(smtp.connections(), 0, 'no mail went out');
  });

  test(`[${backend}] /admin/mail lists each mail the app gave up on (time, template, recipient, reason) to admins only`, async (t) => {
    const { app, runtime } = await adminTest(t, backend, 550);
    const admin = await memberBrowser(app, runtime);
    await setRole(runtime, admin.username, 'admin');
    const user = await memberBrowser(app, runtime);
    assert.match((await admin.get('/admin/mail')).body, /No mail has failed\./);

    assert.equal((await newBrowser(app).post('/password/forgot', { email: user.email }, { from: '/password/forgot' })).statusCode, 200);
    await app.passwordResets.settled();
    const page = await admin.get('/admin/mail');
    assert.equal(page.statusCode, 200);
    const row = /<tr id="mail-failure-\d+">([\s\S]*?)<\/tr>/.exec(page.body)?.[1] ?? '';
    assert.match(row, /<time datetime="\d{4}-\d\d-\d\dT/);
    assert.match(row, /<code>password-reset<\/code>/);
    assert.ok(row.includes(user.email), 'the recipient');
    assert.match(row, /rejected|permanent|EENVELOPE|550/i, 'the reason');
    assert.match(page.body, /href="\/admin\/mail"/, 'the tab is shown');

    assert.equal((await user.get('/admin/mail')).statusCode, 403, 'a member is refused');
    const anonymous = await app.inject('/admin/mail');
    assert.equal(anonymous.statusCode, 303);
  });
}
