import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { PageBrowser } from './page-browser.js';
import type { TestResponse } from './index.js';

// Reading the account mail an app wrote to its outbox (no SMTP_URL: .eml files, exactly what
// SMTP would carry) and following the link in it, as the address's owner would.

/** The token of an account-mail link in a mail's text part, or null. */
export function linkToken(mail: ParsedMail): string | null {
  return /\/email\/confirm\/([\w-]{43})\b/.exec(String(mail.text ?? ''))?.[1] ?? null;
}

/** Every mail in the app's outbox addressed to `to`, oldest first (after the queue has settled). */
export async function outboxMailsTo(app: FastifyInstance, to: string): Promise<ParsedMail[]> {
  // Sign-ups finish after their answer (packages/bastion/src/accounts/sign-up.ts): their mail is queued then.
  await app.signUps.settled();
  const dir = app.mailer.outboxDir;
  assert.ok(dir, 'the app writes mail to an outbox (no SMTP_URL)');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
  } catch {
    return [];
  }
  const mails = await Promise.all(files.map((f) => simpleParser(readFileSync(join(dir, f)))));
  return mails
    .filter((m) =>
      (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).some((a) => a.value.some((v) => v.address?.toLowerCase() === to.toLowerCase())),
    )
    .sort((a, b) => (a.date?.getTime() ?? 0) - (b.date?.getTime() ?? 0));
}

/** The newest confirmation link mailed to `to`, from the outbox. */
export async function confirmationTokenFor(app: FastifyInstance, to: string): Promise<string> {
  const tokens = (await outboxMailsTo(app, to)).map(linkToken).filter((t): t is string => t !== null);
  const token = tokens.at(-1);
  assert.ok(token, `a confirmation link was mailed to ${to}`);
  return token;
}

/**
 * Follows a confirmation link as a person does: opens it (which changes nothing, and lands on
 * the token-free /email/confirm), then presses the "Confirm" button there. The button's answer:
 * a 303 to /email/confirmed?result=….
 */
export async function confirmByLink(browser: PageBrowser, token: string): Promise<TestResponse> {
  const opened = await browser.get(`/email/confirm/${token}`);
  assert.deepEqual([opened.statusCode, opened.headers.location], [303, '/email/confirm'], 'a link lands on the token-free page');
  return browser.post('/email/confirm', {}, { from: '/email/confirm' });
}
