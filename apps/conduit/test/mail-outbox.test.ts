import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { BACKENDS } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';

// Without SMTP_URL, outside production, each mail is written to DATA_DIR/outbox as an .eml file
// (what SMTP would have carried) and its path logged; in production nothing is sent at all.

const TEMPLATES = fileURLToPath(new URL('./fixtures/mail/', import.meta.url));
const EML_NAME = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.eml$/;

for (const backend of BACKENDS) {
  test(`[${backend}] without SMTP_URL each mail is an .eml file in DATA_DIR/outbox, mode 0600, named by the server alone, its path logged`, async (t) => {
    const { app, config, logs } = await startTestApp(
      t,
      backend,
      { MAIL_FROM: 'Conduit <no-reply@conduit.example.com>' },
      {},
      { mailer: { templatesDir: TEMPLATES } },
    );
    // A recipient that looks like a path does not choose where the file goes.
    const recipients = ['carol@example.com', '../../../tmp/evil@example.com'];
    for (const to of recipients)
      assert.equal(
        app.mailer.send({
          to,
          template: 'greeting',
          data: { username: '<img src=x onerror=alert(1)>', link: 'https://conduit.example.com/x' },
        }).status,
        'queued',
      );
    await app.mailer.settled();

    const outbox = join(config.dataDir, 'outbox');
    assert.equal(statSync(outbox).mode & 0o777, 0o700);
    const files = readdirSync(outbox);
    assert.equal(files.length, 2);
    const received: string[] = [];
    for (const name of files) {
      assert.match(name, EML_NAME);
      const path = join(outbox, name);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.ok(logs().includes(`"path":${JSON.stringify(path)}`), 'the log says where the mail is');
      const mail = await simpleParser(readFileSync(path));
      received.push(String((mail.to as { value: Array<{ address: string }> }).value[0]?.address).replaceAll('"', '')); // a quoted local part
      assert.deepEqual(mail.from?.value, [{ name: 'Conduit', address: 'no-reply@conduit.example.com' }]);
      assert.match(String(mail.text), /^Hello <img src=x onerror=alert\(1\)>,/);
      assert.match(String(mail.html), /Hello &lt;img src=x onerror=alert\(1\)&gt;,/);
    }
    assert.deepEqual(received.sort(), [...recipients].sort());
    assert.deepEqual(
      readdirSync(config.dataDir).filter((n) => n.endsWith('.eml')),
      [],
      'nothing written beside the outbox',
    );
  });

  test(`[${backend}] production without SMTP_URL sends nothing and keeps no mail on disk (bastion.W002)`, async (t) => {
    const env = { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://conduit.example.com' };
    const { app, config, logs } = await startTestApp(t, backend, env, {}, { mailer: { templatesDir: TEMPLATES } });
    assert.equal(app.mailer.enabled, false);
    assert.deepEqual(app.mailer.send({ to: 'carol@example.com', template: 'greeting', data: { username: 'carol', link: 'x' } }), {
      status: 'refused',
      reason: 'mail-off',
    });
    await app.mailer.settled();
    assert.equal(existsSync(join(config.dataDir, 'outbox')), false);
    assert.match(logs(), /mail not sent: no SMTP_URL is set/);
  });
}
