import { HASH_CONCURRENCY, Semaphore } from '../accounts/password-hasher.js';
import { AppError } from '../http/app-error.js';

// How many login attempts are worked on at once; the rest wait here, holding nothing but a
// promise. Only HASH_CONCURRENCY hashes run at a time anyway, so a burst of logins would
// otherwise do all its limit checks (Redis) and account lookups (the database) at the same
// moment, and then queue for the hash: the bench's 50 simultaneous logins kept the server
// busy for half a second that way, and every other request waited behind them. A few more
// than the hashing slots keeps the hash always fed.
export const LOGIN_ADMISSION = HASH_CONCURRENCY * 4;

// How many may wait. The per-IP limits bound each client, not a crowd of them: logins from
// thousands of addresses at once would otherwise queue without end, each holding its socket
// and request in memory, and the last would wait minutes. A hash takes ~20–40 ms, so a full
// queue is a few seconds of work per slot; beyond it an attempt is refused at once with 503
// and Retry-After (the server is busy, the client did nothing wrong), before it counts toward
// any login limit.
export const LOGIN_QUEUE_LIMIT = HASH_CONCURRENCY * 100;

const admission = new Semaphore(LOGIN_ADMISSION);

/** Login attempts waiting for a slot now. */
export const waitingLogins = (): number => admission.queued;

/** Runs one login attempt (limit check, lookup, hash, outcome) when a slot is free; 503 when too many already wait. */
export function admitLogin<T>(attempt: () => Promise<T>): Promise<T> {
  if (admission.queued >= LOGIN_QUEUE_LIMIT) return Promise.reject(new AppError('UNAVAILABLE'));
  return admission.run(attempt);
}
