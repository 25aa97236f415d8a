import type { Db } from '../db/database.js';
import type { MailFailure } from './mailer.js';

// The mail_failures table (migration 009): written when the mailer gives a mail up, read by the
// admin. Only the newest KEPT rows stay, so a long outage cannot fill the database.

export const KEPT_MAIL_FAILURES = 1000;

export interface StoredMailFailure {
  readonly id: number;
  readonly failedAt: string;
  readonly mailId: string;
  readonly template: string;
  readonly recipient: string;
  readonly attempts: number;
  readonly reason: string;
  readonly error: string;
}

export async function recordMailFailure(
  db: Db,
  failure: MailFailure,
  options: { readonly now?: Date; readonly keep?: number } = {},
): Promise<void> {
  const now = options.now ?? new Date();
  const keep = options.keep ?? KEPT_MAIL_FAILURES;
  await db.kysely
    .insertInto('mail_failures')
    .values({
      failed_at: now.toISOString(),
      mail_id: failure.mailId,
      template: failure.template.slice(0, 64),
      recipient: failure.recipient.slice(0, 254),
      attempts: failure.attempts,
      reason: failure.reason,
      error: failure.error.slice(0, 64),
    })
    .execute();
  const oldestKept = await db.kysely
    .selectFrom('mail_failures')
    .select('id')
    .orderBy('id', 'desc')
    .limit(1)
    .offset(keep - 1)
    .executeTakeFirst();
  if (oldestKept) await db.kysely.deleteFrom('mail_failures').where('id', '<', oldestKept.id).execute();
}

/** The newest failures first, for the admin; `offset` skips that many (a page further back), within the kept rows. */
export async function listMailFailures(
  db: Db,
  options: { readonly limit?: number; readonly offset?: number } = {},
): Promise<StoredMailFailure[]> {
  const limit = Math.min(Math.max(1, options.limit ?? 50), KEPT_MAIL_FAILURES);
  const offset = Math.min(Math.max(0, Math.trunc(options.offset ?? 0) || 0), KEPT_MAIL_FAILURES);
  const rows = await db.kysely.selectFrom('mail_failures').selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  return rows.map((r) => ({
    id: r.id,
    failedAt: r.failed_at,
    mailId: r.mail_id,
    template: r.template,
    recipient: r.recipient,
    attempts: r.attempts,
    reason: r.reason,
    error: r.error,
  }));
}

/** How many failures are kept (at most KEPT_MAIL_FAILURES, so counting them is cheap). */
export async function countMailFailures(db: Db): Promise<number> {
  const row = await db.kysely
    .selectFrom('mail_failures')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
