// Recognises "a dependency is down or unreachable" (PostgreSQL, Redis), as opposed to a bug:
// the error handler answers these with 503 + Retry-After, so a client and a load balancer know
// to try again shortly, instead of a 500 that says our code is broken. Drivers report outages
// in several ways, so this is the one place that knows them all.

// Socket-level failures reaching a server (node:net, pg, ioredis all pass these through).
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources: too many
// connections, out of memory or disk), 57014 (a statement cancelled by statement_timeout: the
// server is overloaded, try again), 57P01–57P05 (server shutting down, crashed, starting up,
// database dropped, idle session timeout), and the transaction conflicts the server resolves by
// aborting one side: 40001 (serialization failure), 40P01 (deadlock) and 55P03 (lock not
// available). Those are PostgreSQL's SQLITE_BUSY: contention, gone on a retry, not a bug the
// client should see as a 500 (the log still records each one).
const PG_STATE = /^(?:08[0-9A-Z]{3}|53[0-9A-Z]{3}|57014|57P0[1-5]|40001|40P01|55P03)$/;

// SQLite still locked by another writer after busy_timeout: overload, not a bug.
const SQLITE_CODES: ReadonlySet<string> = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT']);

// Driver errors that carry no code, by their fixed text (pg, pg-pool, ioredis).
const DRIVER_MESSAGES: readonly RegExp[] = [
  /^Connection terminated( unexpectedly| due to connection timeout)?$/, // pg
  /^timeout exceeded when trying to connect$/, // pg-pool
  /^Client has encountered a connection error and is not queryable$/, // pg
  /^Query read timeout$/, // src/db/query-deadline.ts (pg query_timeout's own text)
  /^Connection is closed\.$/, // ioredis
  /^Stream isn't writeable and enableOfflineQueue options is false$/, // ioredis
  /^Command timed out$/, // ioredis commandTimeout
  /^Redis connection is not ready$/, // rate-limiter-flexible, rejectIfRedisNotReady
];
const DRIVER_ERROR_NAMES: ReadonlySet<string> = new Set(['MaxRetriesPerRequestError']); // ioredis

export function isDependencyUnavailable(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 4) return false;
  const { code, name, message, cause, errors } = err as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLITE_CODES.has(code) || PG_STATE.test(code))) return true;
  if (typeof name === 'string' && DRIVER_ERROR_NAMES.has(name)) return true;
  if (typeof message === 'string' && DRIVER_MESSAGES.some((m) => m.test(message))) return true;
  // Wrapped (error.cause) or one of several connection attempts (AggregateError from
  // happy-eyeballs connects to a name with IPv4 and IPv6 addresses).
  if (isDependencyUnavailable(cause, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((e) => isDependencyUnavailable(e, depth + 1));
}
