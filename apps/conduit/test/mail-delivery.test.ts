import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { MailerOverrides, SendResult, Wait } from 'bastion';
import { BACKENDS, type BackendName, listMailFailures } from 'bastion/testing';
import { createTestSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from './helpers/smtp-server.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

// Account mail through a real SMTP server on loopback (smtp-server, a certificate made by
// openssl for this run): the app's mailer connects over TCP, upgrades with STARTTLS, logs in,
// and the test reads what arrived. Failures are real too: a port nobody listens on, a server
// with no STARTTLS, a certificate nobody vouched for, a 550, a wrong password.

const TEMPLATES = fileURLToPath(new URL('./fixtures/mail/', import.meta.url));
const FROM = 'Conduit <no-reply@conduit.example.com>';
const LOGIN = { user: 'mailer', pass: `pw-${randomBytes(12).toString('hex')}` };

/** Retries at once, and remembers the backoff each retry asked for. */
function recordingWait(delays: number[], before?: (retry: number) => Promise<void>): Wait {
  return async (ms) => {
    delays.push(ms);
    await before?.(delays.length);
  };
}

// A route of the API face that sends one mail and answers with what send() returned.
let token = '';
const sendRoute: FastifyPluginAsync = async (api) => {
  api.post(
    '/test-mail',
    {
      config: { access: 'public' },
      schema: {
        body: {
          type: 'object',
          required: ['to', 'username'],
          additionalProperties: false,
          properties: { to: { type: 'string' }, username: { type: 'string' } },
        },
        // send()'s result as it is (open): the tests read whatever the mailer answered.
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: { result: { type: 'object', additionalProperties: true }, delivered: { type: 'integer' } },
          },
        },
      },
    },
    async function sendTestMail(request) {
      const { to, username } = request.body as { to: string; username: string };
      const result = this.mailer.send({
        to,
        template: 'greeting',
        data: { username, link: `https://conduit.example.com/email/confirm/${token}` },
      });
      return { result, delivered: delivered() };
    },
  );
};
let delivered = (): number => 0;

interface MailTest extends TestApp {
  readonly smtp: TestSmtpServer;
  send(to: string, username?: string): Promise<{ result: SendResult; delivered: number }>;
}

interface MailTestOptions {
  readonly server?: TestSmtpServerOptions;
  /** The login in SMTP_URL and required by the server; null for none (a relay). */
  readonly login?: typeof LOGIN | null;
  readonly env?: Record<string, string>;
  readonly mailer?: MailerOverrides;
  /** Whether the mailer is told to trust the test certificate (default true). */
  readonly trustCa?: boolean;
  /** Whether the server listens from the start (default true). */
  readonly started?: boolean;
}

async function mailTest(t: TestContext, backend: BackendName, options: MailTestOptions = {}): Promise<MailTest> {
  const login = options.login === undefined ? LOGIN : options.login;
  const smtp = await createTestSmtpServer({ ...(login ? { login } : {}), ...options.server });
  if (options.started !== false) await smtp.start();
  t.after(() => smtp.close());
  token = randomBytes(32).toString('base64url');
  delivered = () => smtp.messages.length;
  const scheme = options.server?.implicitTls ? 'smtps' : 'smtp';
  const env = {
    SMTP_URL: `${scheme}://${login ? `${login.user}:${login.pass}@` : ''}127.0.0.1:${smtp.port}`,
    MAIL_FROM: FROM,
    ...options.env,
  };
  const mailer: MailerOverrides = {
    templatesDir: TEMPLATES,
    ...(options.trustCa === false ? {} : { tlsCa: smtp.ca }),
    wait: recordingWait([]),
    retry: { maxAttempts: 3 },
    ...options.mailer,
  };
  const testApp = await startTestApp(t, backend, env, {}, { extraRoutes: { api: sendRoute }, mailer });
  const send = async (to: string, username = 'carol') => {
    const res = await testApp.app.inject({ method: 'POST', url: '/api/test-mail', payload: { to, username } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ result: SendResult; delivered: number }>();
  };
  return { ...testApp, smtp, send };
}

const failuresOf = (app: FastifyInstance, runtime: TestApp['runtime']) => app.mailer.settled().then(() => listMailFailures(runtime.db));

for (const backend of BACKENDS) {
  test(`[${backend}] mail goes over STARTTLS with the login to a real SMTP server: From is MAIL_FROM, a text and an HTML part, user data escaped in the HTML`, async (t) => {
    const { app, smtp, send, logs } = await mailTest(t, backend, { env: { PUBLIC_ORIGIN: 'https://conduit.example.com' } });
    const { result } = await send('Dave@Example.com', '<script>alert(1)</script> & "co"');
    assert.equal(result.status, 'queued');
    const [mail] = await smtp.waitForMessages(1);
    assert.ok(mail);
    assert.equal(mail.secure, true, 'the message travelled inside TLS (STARTTLS)');
    assert.equal(mail.user, LOGIN.user, "the client logged in with the URL's user");
    assert.equal(mail.ehlo, 'conduit.example.com', 'EHLO names the site, not the machine');
    assert.deepEqual(mail.rcptTo, ['Dave@example.com'], 'nodemailer lower-cases the domain only');
    assert.deepEqual(mail.parsed.from?.value, [{ name: 'Conduit', address: 'no-reply@conduit.example.com' }], 'From is MAIL_FROM');
    assert.equal(mail.parsed.subject, 'Welcome to Conduit, <script>alert(1)</script> & "co"', 'a subject is plain text: not HTML-escaped');
    assert.equal(mail.parsed.headers.get('auto-submitted'), 'auto-generated');
    const html = String(mail.parsed.html);
    assert.match(html, /Hello &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;co&quot;,/);
    assert.doesNotMatch(html, /<script>/, 'no markup from user data reaches the HTML part');
    assert.ok(html.includes(`href="https://conduit.example.com/email/confirm/${token}"`));
    assert.match(
      String(mail.parsed.text),
      /^Hello <script>alert\(1\)<\/script> & "co",\n\nConfirm your address: https:\/\/conduit\.example\.com\/email\/confirm\//,
    );
    await app.mailer.settled();
    assert.match(logs(), /"msg":"mail sent"/);
    assert.ok(!logs().includes(token), 'the token in the body never reaches the log');
    assert.ok(
      !logs().includes('Dave@Example.com') && !logs().toLowerCase().includes('dave@example.com'),
      'the log names the recipient by domain and hash only',
    );
    assert.match(logs(), /"domain":"example\.com","recipientHash":"[0-9a-f]{16}"/);
  });

  test(`[${backend}] smtps:// speaks TLS from the first byte`, async (t) => {
    const { smtp, send } = await mailTest(t, backend, { server: { implicitTls: true } });
    assert.equal((await send('erin@example.com')).result.status, 'queued');
    const [mail] = await smtp.waitForMessages(1);
    assert.equal(mail?.secure, true);
  });

  test(`[${backend}] CR/LF and other control characters in the recipient or the subject are refused before anything is queued`, async (t) => {
    const { app, smtp, send, logs } = await mailTest(t, backend);
    const recipients = [
      'victim@example.com\r\nBcc: attacker@evil.example',
      'victim@example.com\nBcc: attacker@evil.example',
      'victim@example.com, attacker@evil.example',
      'Victim <victim@example.com>',
      'victim@example.com\u2028',
      'attacker@evil.example;victim@example.com',
      '',
    ];
    for (const to of recipients) {
      const { result } = await send(to);
      assert.deepEqual(result, { status: 'refused', reason: 'unsafe-recipient' }, JSON.stringify(to));
      assert.equal(app.mailer.pending, 0, 'nothing was queued');
    }
    for (const username of ['carol\r\nBcc: attacker@evil.example', 'carol\nX-Injected: 1', 'carol\r', 'carol\u0007', 'carol\u0085']) {
      const { result } = await send('victim@example.com', username);
      assert.deepEqual(result, { status: 'refused', reason: 'unsafe-subject' }, JSON.stringify(username));
      assert.equal(app.mailer.pending, 0, 'nothing was queued');
    }
    // NUL never gets through a request (the input guard answers 400); the mailer refuses it too.
    assert.deepEqual(app.mailer.send({ to: 'victim@example.com\u0000', template: 'greeting', data: { username: 'carol', link: '' } }), {
      status: 'refused',
      reason: 'unsafe-recipient',
    });
    assert.deepEqual(app.mailer.send({ to: 'victim@example.com', template: 'greeting', data: { username: 'carol\u0000', link: '' } }), {
      status: 'refused',
      reason: 'unsafe-subject',
    });
    assert.equal(app.mailer.pending, 0);
    // A good mail after them all: the only one the server ever sees.
    assert.equal((await send('victim@example.com', 'carol')).result.status, 'queued');
    await smtp.waitForMessages(1);
    await app.mailer.settled();
    assert.equal(smtp.messages.length, 1);
    assert.deepEqual(smtp.messages[0]?.rcptTo, ['victim@example.com']);
    assert.ok(!smtp.messages[0]?.raw.includes('attacker'), 'no injected header or recipient');
    assert.ok(!logs().includes('attacker@evil.example'), 'a refused value is not echoed into the log');
    assert.match(logs(), /mail refused before queueing/);
  });

  test(`[${backend}] with the SMTP server down the request answers at once; the mail is retried with a doubling wait until the server is up`, async (t) => {
    const delays: number[] = [];
    let smtp: TestSmtpServer | null = null;
    // The server comes up only while the mailer waits before its third attempt.
    const wait = recordingWait(delays, async (retry) => {
      if (retry === 2) await smtp?.start();
    });
    const test = await mailTest(t, backend, {
      started: false,
      mailer: { wait, retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 } },
    });
    smtp = test.smtp;
    const answer = await test.send('frank@example.com');
    assert.equal(answer.result.status, 'queued', 'the caller is told the mail is queued, not that the server is down');
    assert.equal(answer.delivered, 0, 'the request answered before any delivery');
    const [mail] = await test.smtp.waitForMessages(1);
    assert.deepEqual(mail?.rcptTo, ['frank@example.com']);
    await test.app.mailer.settled();
    assert.deepEqual(delays, [1000, 2000], 'two failures, each wait twice the one before');
    assert.equal((test.logs().match(/will retry/g) ?? []).length, 2);
    assert.match(test.logs(), /"error":"E(SOCKET|CONNECTION)"/, 'the log says why by code');
    assert.deepEqual(await listMailFailures(test.runtime.db), [], 'a mail delivered late is not a failure');
  });

  test(`[${backend}] when the retries run out the mail is logged without its body or token and recorded for the admin`, async (t) => {
    const delays: number[] = [];
    const { app, runtime, send, logs, smtp } = await mailTest(t, backend, {
      started: false,
      mailer: { wait: recordingWait(delays), retry: { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 1500 } },
    });
    assert.equal((await send('grace@example.org')).result.status, 'queued');
    const failures = await failuresOf(app, runtime);
    assert.deepEqual(delays, [500, 1000, 1500], 'doubling, capped at maxDelayMs');
    assert.equal(smtp.connections(), 0);
    assert.equal(failures.length, 1);
    assert.deepEqual(
      { ...failures[0], id: 0, failedAt: '', mailId: '' },
      {
        id: 0,
        failedAt: '',
        mailId: '',
        template: 'greeting',
        recipient: 'grace@example.org',
        attempts: 4,
        reason: 'retries-exhausted',
        error: failures[0]?.error,
      },
    );
    assert.match(failures[0]?.error ?? '', /^E(SOCKET|CONNECTION)$/, 'connection refused');
    assert.match(logs(), /"msg":"mail could not be sent"/);
    assert.match(logs(), /"reason":"retries-exhausted"/);
    assert.ok(!logs().includes(token), 'no token in the log');
    assert.ok(!logs().includes('Confirm your address'), 'no body in the log');
    assert.ok(!JSON.stringify(failures).includes(token), 'no token in the record');
  });

  test(`[${backend}] a 5xx answer is final: one attempt, recorded with its code`, async (t) => {
    const delays: number[] = [];
    const { app, runtime, send } = await mailTest(t, backend, { server: { rejectWith: 550 }, mailer: { wait: recordingWait(delays) } });
    await send('heidi@example.com');
    const failures = await failuresOf(app, runtime);
    assert.deepEqual(delays, [], 'no retry');
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.reason, 'permanent');
    assert.equal(failures[0]?.attempts, 1);
    assert.match(failures[0]?.error ?? '', / 550$/);
  });

  test(`[${backend}] a certificate nobody vouched for is refused: no mail, no login sent`, async (t) => {
    const { app, runtime, send, smtp, logs } = await mailTest(t, backend, { trustCa: false, mailer: { retry: { maxAttempts: 1 } } });
    await send('ivan@example.com');
    const failures = await failuresOf(app, runtime);
    assert.equal(smtp.messages.length, 0);
    assert.equal(failures[0]?.reason, 'retries-exhausted');
    assert.match(failures[0]?.error ?? '', /^E(TLS|SOCKET|CONNECTION)/);
    assert.equal(smtp.connections(), 1, 'the server was reached');
    assert.equal(smtp.logins(), 0, 'the password was never sent to a server whose certificate failed');
    assert.ok(!logs().includes(LOGIN.pass));
  });

  test(`[${backend}] smtp:// requires STARTTLS: a server that does not offer it never gets the mail; only an explicit SMTP_REQUIRE_TLS=false sends in clear`, async (t) => {
    const open = { server: { noStartTls: true }, mailer: { retry: { maxAttempts: 1 } } };
    const strict = await mailTest(t, backend, open);
    await strict.send('judy@example.com');
    const failures = await failuresOf(strict.app, strict.runtime);
    assert.equal(strict.smtp.messages.length, 0, 'nothing sent in clear text');
    assert.equal(strict.smtp.connections(), 1, 'the server was reached, and refused for its lack of TLS');
    assert.equal(strict.smtp.logins(), 0, 'the password was never sent in clear');
    assert.match(failures[0]?.error ?? '', /^E(REQUIRETLS|TLS)/);

    // Opted out, without a login (a relay on the same host): the mail goes, unencrypted.
    const relay = await mailTest(t, backend, { ...open, login: null, env: { SMTP_REQUIRE_TLS: 'false' } });
    await relay.send('judy@example.com');
    const [mail] = await relay.smtp.waitForMessages(1);
    assert.equal(mail?.secure, false);
  });

  test(`[${backend}] the SMTP password never reaches the log, whether the login works or is refused`, async (t) => {
    const good = await mailTest(t, backend);
    await good.send('kim@example.com');
    await good.smtp.waitForMessages(1);
    await good.app.mailer.settled();
    // The server knows another password: the login is refused (535, final).
    const refused = await mailTest(t, backend, { server: { login: { user: LOGIN.user, pass: 'another-password' } } });
    await refused.send('kim@example.com');
    const failures = await failuresOf(refused.app, refused.runtime);
    assert.equal(refused.smtp.messages.length, 0);
    assert.deepEqual([failures[0]?.reason, failures[0]?.error], ['permanent', 'EAUTH 535']);
    // Even a careless line that logs the whole configuration: smtpUrl is a secret-named key.
    good.app.log.info({ config: good.config }, 'careless configuration dump');
    for (const logs of [good.logs(), refused.logs()]) {
      assert.ok(logs.length > 0);
      assert.ok(!logs.includes(LOGIN.pass), 'the password is nowhere in the log');
      assert.ok(!logs.includes(encodeURIComponent(LOGIN.pass)));
    }
  });
}
