import { HASH_CONCURRENCY } from '../accounts/password-hasher.js';
import { boundedAdmission } from './admission.js';

// Every request that hashes or verifies a password — a login, a registration, a password
// change, through the API or a form — is worked on a few at a time; the rest wait here, holding
// nothing but a promise. Only HASH_CONCURRENCY hashes run at a time anyway, so a burst would
// otherwise do all its limit checks (Redis) and account lookups (the database) at the same
// moment, and then queue for the hash: the bench's 50 simultaneous logins kept the server
// busy for half a second that way, and every other request waited behind them. A few more
// than the hashing slots keeps the hash always fed. One queue for all of them: registrations
// queued apart from logins would still share the hashing slots, and a flood of them from many
// addresses would make every login wait behind it without bound.
export const PASSWORD_ADMISSION = HASH_CONCURRENCY * 4;

// How many may wait. The per-IP limits bound each client, not a crowd of them: attempts from
// thousands of addresses at once would otherwise queue without end, each holding its socket
// and request in memory, and the last would wait minutes. A hash takes ~20–40 ms, so a full
// queue is a few seconds of work per slot; beyond it a request is refused at once with 503
// and Retry-After (the server is busy, the client did nothing wrong), before it counts toward
// any limit and before anything is read or written.
export const PASSWORD_QUEUE_LIMIT = HASH_CONCURRENCY * 100;

const admission = boundedAdmission(PASSWORD_ADMISSION, PASSWORD_QUEUE_LIMIT);

/** Requests waiting for a slot now. */
export const waitingForPasswordWork = (): number => admission.queued;

/** Runs one request's password work (limit checks, reads, hashing, writes) when a slot is free; 503 when too many already wait. */
export function admitPasswordWork<T>(work: () => Promise<T>): Promise<T> {
  return admission.run(work);
}
