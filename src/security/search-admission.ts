import { SCAN_THREADS } from '../db/scan-readers.js';
import { boundedAdmission } from './admission.js';

// Searches are worked on a few at a time, with a bounded queue (503 + Retry-After beyond it). A
// search for a word no index can look up (under three characters, or `%`) reads every article:
// over 10,000 of them, 20–50 ms of a SQLite reader thread, 330–470 ms of a PostgreSQL connection.
// Each client is held to the general limit (300 a minute), but a few clients within it, searching
// at once, would otherwise take every reader thread, or most of the pool, from everyone else.
// As many at once as there are SQLite reader threads; on PostgreSQL that leaves the rest of the
// pool to the other pages. The bound is per process, like the pool and the threads it protects.
export const SEARCH_CONCURRENCY = SCAN_THREADS;
// About a second of scans per slot on SQLite, a few seconds on PostgreSQL: beyond that, a client
// is better told at once to come back than left waiting.
export const SEARCH_QUEUE_LIMIT = SEARCH_CONCURRENCY * 20;

const admission = boundedAdmission(SEARCH_CONCURRENCY, SEARCH_QUEUE_LIMIT);

/** Searches waiting for a slot now. */
export const waitingForSearch = (): number => admission.queued;

/** Runs one search's scan when a slot is free; 503 when too many already wait. */
export function admitSearch<T>(work: () => Promise<T>): Promise<T> {
  return admission.run(work);
}
