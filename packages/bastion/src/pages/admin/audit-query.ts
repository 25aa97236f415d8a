import type { AnyAuditEvent } from '../../audit/audit-log.js';
import type { Db } from '../../db/database.js';
import { scanPageAndTotal } from '../../security/scan-admission.js';
import { containsText, startsWithText } from './text-match.js';

// The audit log as the admin reads it: newest first, narrowed by event, actor and IP. The log
// never holds a secret (packages/bastion/src/audit/audit-log.ts writes identifiers only), so rows are shown whole.
// The log grows with every failed login, from anyone: a filter may read all of it, so the page
// and its total are read as an admitted scan (on SQLite off the event loop), in the admin's own
// lane: a crowd of public searches does not stand in front of it.

export interface AuditFilter {
  readonly event?: AnyAuditEvent;
  /** Part of the actor's username, any case (what a client typed at a login is in the details, not here). */
  readonly actor?: string;
  /** The start of an address: "10.0.0.7" or "10.0.". */
  readonly ip?: string;
}

export interface AuditRow {
  readonly id: number;
  readonly at: string;
  readonly event: string;
  readonly actorId: number | null;
  readonly actorName: string | null;
  readonly ip: string;
  readonly userAgent: string;
  /** The details object as key/value pairs, for a definition list. */
  readonly details: readonly (readonly [string, string])[];
}

function detailPairs(text: string): [string, string][] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
    }
  } catch {
    // Shown as written below.
  }
  return [['details', text]];
}

/** A page of the log and its total; `signal`: the client's (clientGone), to call the scan off. */
export async function listAudit(
  db: Db,
  filter: AuditFilter,
  page: { limit: number; offset: number },
  signal?: AbortSignal,
): Promise<{ items: AuditRow[]; total: number }> {
  const actor = filter.actor?.trim() ?? '';
  const ip = filter.ip?.trim() ?? '';
  const scoped = () => {
    let q = db.kysely.selectFrom('audit_log');
    if (filter.event !== undefined) q = q.where('audit_log.event', '=', filter.event);
    // Rows from before actors were named only by id may hold a typed login identifier there.
    if (actor !== '') q = q.where('audit_log.actor_id', 'is not', null).where(containsText('audit_log.actor_name', actor));
    if (ip !== '') q = q.where(startsWithText('audit_log.ip', ip));
    return q;
  };
  const { rows, total } = await scanPageAndTotal(
    db,
    signal === undefined ? { lane: 'admin' } : { lane: 'admin', signal },
    scoped().selectAll().orderBy('audit_log.at', 'desc').orderBy('audit_log.id', 'desc').limit(page.limit).offset(page.offset),
    scoped().select((eb) => eb.fn.countAll<number>().as('n')),
  );
  return {
    items: rows.map((r) => ({
      id: r.id,
      at: r.at,
      event: r.event,
      actorId: r.actor_id,
      actorName: r.actor_id === null ? null : r.actor_name,
      ip: r.ip,
      userAgent: r.user_agent,
      details: detailPairs(r.details),
    })),
    total,
  };
}
