import type { Compilable } from 'kysely';
import type { Db } from '../db/database.js';
import { SCAN_THREADS } from '../db/scan-readers.js';
import { boundedAdmission } from './admission.js';

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

const admission = boundedAdmission(SCAN_CONCURRENCY, SCAN_QUEUE_LIMIT);

/** Scans waiting for a slot now. */
export const waitingForScan = (): number => admission.queued;

/** Runs one request's scans when a slot is free; 503 when too many already wait. */
export function admitScan<T>(work: () => Promise<T>): Promise<T> {
  return admission.run(work);
}

/** A page of a listing that may scan and its total, read as one admitted scan (Db.scan). */
export function scanPageAndTotal<R>(db: Db, page: Compilable<R>, total: Compilable<{ n: number }>): Promise<{ rows: R[]; total: number }> {
  return admitScan(async () => {
    const [rows, [counted]] = await Promise.all([db.scan(page), db.scan(total)]);
    return { rows, total: Number(counted?.n ?? 0) };
  });
}
