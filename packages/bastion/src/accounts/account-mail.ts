import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { Site } from '../config/site.js';
import type { AppDb } from '../db/schema.js';
import type { UserRecord } from './users.js';
import { isUniqueViolation } from '../db/db-errors.js';
import { AppError } from '../http/app-error.js';

// The mails of email confirmation and email change (SPEC §3 "account mail"), and applying a
// confirmation link. Links carry a one-time token (packages/bastion/src/accounts/account-tokens.ts); nothing else
// in a mail is secret, and the notices to an old address carry no link at all, so a mailbox
// that an attacker reads gives them nothing to click. Sending never fails the request: the
// mailer queues (packages/bastion/src/mail/mailer.ts).

/** The path a confirmation link points at; its token leaves the address bar at once (packages/bastion/src/pages/email-pages.ts). */
export const CONFIRM_PATH = '/email/confirm/';

/** What a live confirmation link would do, told to the person before they press "Confirm". */
export interface PendingConfirmation {
  readonly purpose: 'confirm' | 'email-change';
  /** The address the link was sent to (and, for a change, the account's address after it). */
  readonly email: string;
  /** The account the link belongs to. */
  readonly userId: number;
}

/** What a confirmation link's token would do, without spending it; null for any token that would not work. */
export async function peekConfirmation(app: FastifyInstance, token: string): Promise<PendingConfirmation | null> {
  for (const purpose of ['confirm', 'email-change'] as const) {
    const grant = await app.accountTokens.peek(purpose, token);
    if (grant) return { purpose, email: grant.email, userId: grant.userId };
  }
  return null;
}

const confirmLink = (config: Config, token: string): string => `${config.publicOrigin}${CONFIRM_PATH}${token}`;

/** "j•••@example.com": enough for the owner to recognise an address, not to learn one. */
export function maskedAddress(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, Math.min(1, at))}•••${email.slice(at)}`;
}

/** Mails `user` a link that confirms their address (sign-up, or a resend). */
export async function sendConfirmation(
  app: FastifyInstance,
  config: Config,
  user: Pick<UserRecord, 'id' | 'username' | 'email'>,
): Promise<void> {
  const token = await app.accountTokens.issue(user.id, 'confirm', user.email);
  app.mailer.send({
    to: user.email,
    template: 'confirm',
    data: { username: user.username, link: confirmLink(config, token), origin: config.publicOrigin },
  });
}

/** Tells an address's owner that someone tried to sign up with it: no link but the site's own pages. */
export function sendAddressTaken(app: FastifyInstance, config: Config, owner: Pick<UserRecord, 'username' | 'email'>): void {
  app.mailer.send({ to: owner.email, template: 'address-taken', data: { username: owner.username, origin: config.publicOrigin } });
}

/**
 * An email change asked for (the current password already checked): the new address gets a
 * link bound to it (the token's email), the old one a notice without a link. Nothing changes
 * until the link is followed. A new request replaces an older one: that one's link dies, so the
 * pending change /settings shows is the only one there is.
 */
export async function requestEmailChange(
  app: FastifyInstance,
  config: Config,
  user: Pick<UserRecord, 'id' | 'username' | 'email'>,
  newEmail: string,
): Promise<void> {
  await app.accountTokens.voidAll(user.id, 'email-change');
  const token = await app.accountTokens.issue(user.id, 'email-change', newEmail);
  app.mailer.send({
    to: newEmail,
    template: 'email-change-confirm',
    data: { username: user.username, link: confirmLink(config, token), origin: config.publicOrigin },
  });
  app.mailer.send({
    to: user.email,
    template: 'email-changed-notice',
    data: { username: user.username, to: maskedAddress(newEmail), completed: false, origin: config.publicOrigin },
  });
}

export type ConfirmOutcome = 'confirmed' | 'changed' | 'invalid' | 'taken';

/** "example.com" of "jake@example.com": the audit log's view of an address. */
const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

/**
 * Spends a confirmation link: a sign-up confirmation marks the address confirmed (if it is
 * still the account's address); an email change moves the account to the address the token was
 * sent to. One answer ('invalid') for a used, expired, voided or unknown token, and for a token of
 * another purpose (a reset token is never tried here).
 */
export async function applyConfirmation(
  app: FastifyInstance,
  db: AppDb,
  config: Config,
  request: FastifyRequest,
  token: string,
): Promise<ConfirmOutcome> {
  const now = new Date().toISOString();
  const confirm = await app.accountTokens.consume('confirm', token);
  if (confirm) {
    const done = await db
      .updateTable('users')
      .set({ email_confirmed_at: now })
      .where('id', '=', confirm.userId)
      .where('email', '=', confirm.email)
      .executeTakeFirst();
    // The address changed since the mail went out: this link confirmed an address the account no longer has.
    if (Number(done.numUpdatedRows) !== 1) return 'invalid';
    return 'confirmed';
  }
  const change = await app.accountTokens.consume('email-change', token);
  if (!change) return 'invalid';
  const user = await db.selectFrom('users').select(['id', 'username', 'email']).where('id', '=', change.userId).executeTakeFirst();
  if (!user) return 'invalid';
  try {
    await db
      .updateTable('users')
      .set({ email: change.email, email_confirmed_at: now, updated_at: now })
      .where('id', '=', user.id)
      .execute();
  } catch (err) {
    // Another account took the address while the link was in the mail.
    if (isUniqueViolation(err)) return 'taken';
    throw err;
  }
  app.mailer.send({
    to: user.email,
    template: 'email-changed-notice',
    data: { username: user.username, to: maskedAddress(change.email), completed: true, origin: config.publicOrigin },
  });
  await app.audit(request, 'email.change', {
    actorId: user.id,
    actorName: user.username,
    details: { stage: 'completed', fromDomain: domainOf(user.email), toDomain: domainOf(change.email) },
  });
  return 'changed';
}

/**
 * Calls off the account's pending email change (its link dies), audited; false when none was
 * pending. The old address was told of the request, and nothing changed, so no mail goes out.
 */
export async function cancelEmailChange(
  app: FastifyInstance,
  request: FastifyRequest,
  user: Pick<UserRecord, 'id' | 'username'>,
): Promise<boolean> {
  const pending = await app.accountTokens.pending(user.id, 'email-change');
  if (!pending) return false;
  await app.accountTokens.voidAll(user.id, 'email-change');
  await app.audit(request, 'email.change', {
    actorId: user.id,
    actorName: user.username,
    details: { via: 'page', stage: 'cancelled', toDomain: domainOf(pending.email) },
  });
  return true;
}

/** Whether the account's address is confirmed (read now, not from the session). */
export async function isConfirmed(db: AppDb, userId: number): Promise<boolean> {
  const row = await db.selectFrom('users').select('email_confirmed_at').where('id', '=', userId).executeTakeFirst();
  return row !== undefined && row.email_confirmed_at !== null;
}

/** Why an unconfirmed account's write is refused, in the app's words (`site.writes`). */
export const unconfirmedMessage = (site: Site): string =>
  `must be confirmed before you can write ${site.writes}: follow the link we mailed you, or send a new one from Settings`;

/**
 * Whether the account may write yet (the app's `site.writes`), on either face (SPEC §3 "account
 * mail"). A confirmed address always may. By default (ACCOUNT_CONFIRMATION=html) an unconfirmed
 * account made on the pages waits for its link, while one made through the RealWorld API writes
 * at once, as that spec has it (it knows no confirmation step): the gate follows where the account
 * was made, not the face it writes through. ACCOUNT_CONFIRMATION=all holds back every unconfirmed
 * account. Read now, not from the session, so a link followed a moment ago counts.
 */
export async function mayWrite(db: AppDb, config: Pick<Config, 'accountConfirmation'>, userId: number): Promise<boolean> {
  const row = await db.selectFrom('users').select(['email_confirmed_at', 'signed_up_via']).where('id', '=', userId).executeTakeFirst();
  if (!row) return false;
  if (row.email_confirmed_at !== null) return true;
  return config.accountConfirmation === 'html' && row.signed_up_via === 'api';
}

/** Throws 403 (with unconfirmedMessage, under `email`) when the account may not write yet (mayWrite). */
export async function requireMayWrite(db: AppDb, config: Pick<Config, 'accountConfirmation'>, site: Site, userId: number): Promise<void> {
  if (!(await mayWrite(db, config, userId))) throw new AppError('FORBIDDEN', { email: [unconfirmedMessage(site)] });
}

const PASSWORD_CHANGED_HOW = {
  reset: 'through a reset link',
  settings: 'from the account itself (its settings or the API), with the current password',
} as const;

/** The data of the "your password was changed" notice (SPEC §3: the address is told of every password change); no link. */
export function passwordChangedMail(username: string, how: keyof typeof PASSWORD_CHANGED_HOW): Record<string, string> {
  return { username, at: new Date().toISOString().slice(0, 16).replace('T', ' '), how: PASSWORD_CHANGED_HOW[how] };
}
