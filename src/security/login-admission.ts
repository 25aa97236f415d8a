import { HASH_CONCURRENCY, Semaphore } from '../accounts/password-hasher.js';

// How many login attempts are worked on at once; the rest wait here, holding nothing but a
// promise. Only HASH_CONCURRENCY hashes run at a time anyway, so a burst of logins would
// otherwise do all its limit checks (Redis) and account lookups (the database) at the same
// moment, and then queue for the hash: the bench's 50 simultaneous logins kept the server
// busy for half a second that way, and every other request waited behind them. A few more
// than the hashing slots keeps the hash always fed.
export const LOGIN_ADMISSION = HASH_CONCURRENCY * 4;
const admission = new Semaphore(LOGIN_ADMISSION);

/** Runs one login attempt (limit check, lookup, hash, outcome) when a slot is free. */
export function admitLogin<T>(attempt: () => Promise<T>): Promise<T> {
  return admission.run(attempt);
}
