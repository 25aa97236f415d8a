import type { Compilable } from 'kysely';
import type { Db, ScanLane } from '../db/database.js';
import { ScanTimeoutError } from '../db/scan-deadline.js';
import { SCAN_THREADS } from '../db/scan-readers.js';
import { AppError } from '../http/app-error.js';
import { boundedAdmission, type Admission } from './admission.js';

// Reads that may scan a whole table are worked on a few at a time, with a bounded queue (503 +
// Retry-After beyond it): a search for a word no index can look up (under three characters, or
// `%`) reads every article, 20–50 ms of a SQLite reader thread or 230–470 ms of a PostgreSQL
// connection over 10,000 of them; an admin's filter reads the whole audit log, which failed
// logins from many addresses can grow by a million rows a day (200–250 ms a filter then). Each
// client is held to the general limit (300 a minute), but a few within it, at once, would
// otherwise take every reader thread, or most of the pool, from everyone else.
// As many at once as there are SQLite reader threads (Db.scan); on PostgreSQL that leaves the
// rest of the pool to the other pages. Per process, like the pool and the threads it protects.
export const SCAN_CONCURRENCY = SCAN_THREADS;
// About a second of scans per slot on SQLite, a few seconds on PostgreSQL: beyond that, a client
// is better told at once to come back than left waiting.
export const SCAN_QUEUE_LIMIT = SCAN_CONCURRENCY * 20;
// The admin's user list and audit log wait in a queue of their own, on a reader thread of their
// own (the 'admin' lane of Db.scan): they are the pages an admin needs to find and lock the
// account behind a flood of searches, so that flood must not stand in front of them. Only
// admins reach them (requireRole), so one at a time is enough.
export const ADMIN_SCAN_CONCURRENCY = 1;
export const ADMIN_SCAN_QUEUE_LIMIT = 10;

const lanes: Readonly<Record<ScanLane, Admission>> = {
  public: boundedAdmission(SCAN_CONCURRENCY, SCAN_QUEUE_LIMIT),
  admin: boundedAdmission(ADMIN_SCAN_CONCURRENCY, ADMIN_SCAN_QUEUE_LIMIT),
};

/** Scans of a lane waiting for a slot now. */
export const waitingForScan = (lane: ScanLane = 'public'): number => lanes[lane].queued;
/** Requests of a lane scanning now. */
export const scanning = (lane: ScanLane = 'public'): number => lanes[lane].active;

export interface ScanContext {
  /** 'public' unless it is an admin's listing. */
  readonly lane?: ScanLane;
  /** The request's (clientGone): a hang-up takes the request out of the queue, or calls its scans off. */
  readonly signal?: AbortSignal;
}

/** Db.scan in the lane, and with the signal, of the request that was admitted. */
export type Scan = <R>(query: Compilable<R>) => Promise<R[]>;

/** What a client is told when its scan ran past its deadline (SCAN_TIMEOUT_MS). */
export const SCAN_TOO_LONG = 'The search took too long and was stopped. Try other words, or try again in a moment.';

/**
 * Runs one request's scans when a slot of its lane is free: 503 when too many already wait, 503
 * "took too long" when a scan passes its deadline, the signal's reason when the client hangs up.
 */
export async function admitScan<T>(db: Db, context: ScanContext, work: (scan: Scan) => Promise<T>): Promise<T> {
  const lane = context.lane ?? 'public';
  const options = context.signal === undefined ? { lane } : { lane, signal: context.signal };
  const scan: Scan = (query) => db.scan(query, options);
  try {
    return await lanes[lane].run(() => work(scan), context.signal);
  } catch (err) {
    if (err instanceof ScanTimeoutError) throw new AppError('UNAVAILABLE', undefined, SCAN_TOO_LONG);
    throw err;
  }
}

// One client's scanning requests at once, running or waiting. The general limit lets a client
// send a minute's 300 requests all at once: as scans, that one client would fill the queue
// above, and every other client's search would be refused as busy until it drained. Beyond
// this, the client is told to slow down (429 with Retry-After, audited once a minute like any
// limit) before anything waits or is read (app.clientScan in packages/bastion/src/security/rate-limits.ts).
export const SCANS_PER_CLIENT = 2;
/** A client's scans take well under a second each: it may try again after that. */
export const SCAN_RETRY_MS = 1_000;

/** How many scanning requests each client (clientKey of request.ip) has in flight; only clients with one are kept. */
export const scansInFlight = {
  clients: new Map<string, number>(),
  /** Counts one more for `client`, and returns what uncounts it; null when it already has SCANS_PER_CLIENT. */
  enter(client: string): (() => void) | null {
    const now = this.clients.get(client) ?? 0;
    if (now >= SCANS_PER_CLIENT) return null;
    this.clients.set(client, now + 1);
    return () => {
      const left = (this.clients.get(client) ?? 1) - 1;
      if (left > 0) this.clients.set(client, left);
      else this.clients.delete(client);
    };
  },
};

/** A page of a listing that may scan and its total, read as one admitted scan (Db.scan). */
export function scanPageAndTotal<R>(
  db: Db,
  context: ScanContext,
  page: Compilable<R>,
  total: Compilable<{ n: number }>,
): Promise<{ rows: R[]; total: number }> {
  return admitScan(db, context, async (scan) => {
    const [rows, [counted]] = await Promise.all([scan(page), scan(total)]);
    return { rows, total: Number(counted?.n ?? 0) };
  });
}
