import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load-config.js';
import { isSafeSubject, isSenderAddress, isSingleAddress } from '../src/mail/mail-address.js';
import { listMailFailures, recordMailFailure } from '../src/mail/mail-failures.js';
import { backoffDelay, DEFAULT_RETRY, isPermanent } from '../src/mail/mail-queue.js';
import { MailTemplates, UnknownMailTemplateError } from '../src/mail/mail-templates.js';
import { errorCode } from '../src/mail/mailer.js';
import { parseSmtpUrl } from '../src/mail/smtp-url.js';
import { openRuntime } from '../src/runtime.js';
import { BACKENDS, isolate, randomKey } from '../src/testing/backends.js';

// The mail module's pieces on their own: what SMTP_URL may say, which header values pass, the
// backoff schedule, what an error is reduced to, how templates escape, and the failure table.

test('SMTP_URL: scheme, login, host and port only; a query, path or fragment makes it invalid', () => {
  assert.deepEqual(parseSmtpUrl('smtp://user%40example.com:p%40ss%3Aw%2Frd@mail.example.com'), {
    secure: false,
    host: 'mail.example.com',
    port: 587,
    user: 'user@example.com',
    pass: 'p@ss:w/rd',
  });
  assert.deepEqual(parseSmtpUrl('smtps://mail.example.com'), { secure: true, host: 'mail.example.com', port: 465, user: null, pass: null });
  assert.deepEqual(parseSmtpUrl('smtp://[::1]:2525/'), { secure: false, host: '::1', port: 2525, user: null, pass: null });
  for (const bad of [
    'http://mail.example.com',
    'smtp://',
    'smtp://mail.example.com/inbox',
    'smtp://mail.example.com?secure=false',
    'smtp://mail.example.com#x',
    'smtp://mail.example.com:587?tls.rejectUnauthorized=false',
    'smtp://u:%E0%A4%A@mail.example.com',
    'mail.example.com:587',
    '',
  ]) {
    assert.equal(parseSmtpUrl(bad), null, bad);
  }
});

test('a recipient is one bare address: lists, display names, spaces and control characters are refused', () => {
  for (const good of ['carol@example.com', 'Carol.Smith+tag@mail.example.co.uk', "o'brien@example.ie", 'ünïcode@exämple.com'])
    assert.ok(isSingleAddress(good), good);
  for (const bad of [
    'carol@example.com\r\nBcc: x@evil.example',
    'carol@example.com\n',
    'a@example.com,b@example.com',
    'a@example.com;b@example.com',
    'Carol <carol@example.com>',
    'carol@@example.com',
    'carol',
    '@example.com',
    'carol@',
    'carol @example.com',
    'carol@example.com\u0000',
    'carol@example.com\u2029',
    '"carol"@example.com',
    'carol@.example.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(250)}.com`,
  ]) {
    assert.equal(isSingleAddress(bad), false, JSON.stringify(bad));
  }
});

test('a subject holds no control character, is not blank and is bounded', () => {
  assert.ok(isSafeSubject('Reset your password — Conduit'));
  for (const bad of ['a\r\nBcc: x', 'a\n', 'a\r', 'a\t', 'a\u0000', 'a\u001b[31m', 'a\u0085', 'a\u2028', '  ', '', 'x'.repeat(256)])
    assert.equal(isSafeSubject(bad), false, JSON.stringify(bad));
});

test('MAIL_FROM is one mailbox, bare or with a display name', () => {
  for (const good of [
    'no-reply@conduit.example.com',
    'Conduit <no-reply@conduit.example.com>',
    '"Conduit, the blog" <no-reply@conduit.example.com>',
  ])
    assert.ok(isSenderAddress(good), good);
  for (const bad of [
    'Conduit',
    'a@example.com, b@example.com',
    'Team: a@example.com, b@example.com;',
    'Conduit <no-reply@conduit.example.com>\r\nBcc: x@evil.example',
    '',
  ]) {
    assert.equal(isSenderAddress(bad), false, JSON.stringify(bad));
  }
});

test('backoff doubles from the base wait and stops at the cap; the default gives up within about half an hour', () => {
  const policy = { maxAttempts: 8, baseDelayMs: 1_000, maxDelayMs: 10_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n)),
    [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
  );
  let total = 0;
  for (let failed = 1; failed < DEFAULT_RETRY.maxAttempts; failed++) total += backoffDelay(DEFAULT_RETRY, failed);
  assert.ok(total > 5 * 60_000 && total < 30 * 60_000, `${total} ms of waiting in all`);
});

test('an error is reduced to its code and SMTP reply code, never its text', () => {
  const err = Object.assign(new Error('Invalid login: 535 5.7.8 password hunter2 rejected'), {
    code: 'EAUTH',
    responseCode: 535,
    response: '535 password hunter2',
  });
  assert.equal(errorCode(err), 'EAUTH 535');
  assert.equal(errorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'ECONNREFUSED');
  assert.equal(errorCode(Object.assign(new Error('x'), { code: 'secret: hunter2' })), 'ERROR');
  assert.equal(errorCode('hunter2'), 'ERROR');
  assert.equal(errorCode(null), 'ERROR');
  assert.ok(isPermanent({ responseCode: 550 }) && isPermanent({ responseCode: 535 }));
  assert.ok(!isPermanent({ responseCode: 451 }) && !isPermanent({ code: 'ECONNECTION' }) && !isPermanent(null));
});

test('templates: HTML escapes every value, text keeps it readable without control characters, unknown or path-like ids are refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-mail-templates-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'note'));
  writeFileSync(join(dir, 'note', 'subject.eta'), 'Note for <%= it.name %>\n\n');
  writeFileSync(join(dir, 'note', 'text.eta'), 'Hi <%= it.name %>!\n');
  writeFileSync(join(dir, 'note', 'html.eta'), '<p title="<%= it.name %>">Hi <%= it.name %>!</p>\n');
  const templates = new MailTemplates(dir, { cache: true });
  const name = `<b onmouseover="x">'Bob' & \u001b[2Jco\u0007</b>\r\nline`;
  const out = templates.render('note', { name });
  assert.equal(out.subject, `Note for ${name}`, 'the subject is left as it is, for the mailer to refuse');
  assert.equal(out.text, `Hi <b onmouseover="x">'Bob' & [2Jco</b>\nline!\n`);
  assert.equal(
    out.html,
    '<p title="&lt;b onmouseover=&quot;x&quot;&gt;&#39;Bob&#39; &amp; \u001b[2Jco\u0007&lt;/b&gt;\r\nline">Hi &lt;b onmouseover=&quot;x&quot;&gt;&#39;Bob&#39; &amp; \u001b[2Jco\u0007&lt;/b&gt;\r\nline!</p>\n',
  );
  assert.equal(templates.render('note', { name: 'Ann' }).subject, 'Note for Ann', "the file's trailing newline is not part of the subject");
  for (const id of ['missing', '../note', 'note/../note', 'Note', '', 'note/subject'])
    assert.throws(() => templates.render(id, {}), UnknownMailTemplateError, id);
});

for (const backend of BACKENDS) {
  test(`[${backend}] mail failures are stored newest first and only the newest are kept`, async (t) => {
    const iso = await isolate(backend);
    const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
    const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix });
    t.after(async () => {
      await runtime.close();
      await iso.cleanup();
    });
    for (let i = 1; i <= 7; i++) {
      await recordMailFailure(
        runtime.db,
        {
          mailId: `m${i}`,
          template: 'greeting',
          recipient: `u${i}@example.com`,
          attempts: i,
          reason: 'retries-exhausted',
          error: 'ECONNECTION',
        },
        { keep: 5, now: new Date(Date.UTC(2026, 0, i)) },
      );
    }
    const stored = await listMailFailures(runtime.db);
    assert.deepEqual(
      stored.map((f) => f.mailId),
      ['m7', 'm6', 'm5', 'm4', 'm3'],
    );
    assert.equal(stored[0]?.failedAt, '2026-01-07T00:00:00.000Z');
    assert.deepEqual(
      (await listMailFailures(runtime.db, { limit: 2 })).map((f) => f.recipient),
      ['u7@example.com', 'u6@example.com'],
    );
  });
}
