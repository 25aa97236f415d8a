import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { ScanTimeoutError } from './scan-deadline.js';
import type { Database } from './schema.js';

// A scan on PostgreSQL (Db.scan): its own deadline, kept by the server, and a way to call it off.
//
// The deadline is statement_timeout set for this one transaction (set_config(…, true) is SET
// LOCAL with the value bound as a parameter): the server cancels the statement and frees the
// connection, where a client-side timer would only stop waiting while the server went on
// reading. The pool's own statement_timeout (10 s) stays for every other query.
//
// A scan whose client hung up is cancelled with pg_cancel_backend on the backend that runs it,
// sent from another connection of the pool. The transaction waits for that cancel to be
// delivered before it ends and gives its connection back, so the cancel can only ever reach this
// scan (or find the backend idle, where PostgreSQL ignores it), never the next user's query.
// The caller is answered at once all the same.

const QUERY_CANCELED = '57014';

export async function scanWithDeadline<R>(
  kysely: Kysely<Database>,
  query: CompiledQuery<R>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<R[]> {
  signal?.throwIfAborted();
  const scan = kysely.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      pid: number;
    }>`select set_config('statement_timeout', ${String(timeoutMs)}, true), pg_backend_pid() as pid`.execute(trx);
    const pid = rows[0]!.pid;
    let cancelled: Promise<unknown> | undefined;
    const cancel = () => {
      cancelled = sql`select pg_cancel_backend(${pid})`.execute(kysely).catch(() => {});
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      signal?.throwIfAborted();
      return (await trx.executeQuery(query)).rows;
    } catch (err) {
      if (!signal?.aborted && (err as { code?: unknown }).code === QUERY_CANCELED) throw new ScanTimeoutError();
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
      await cancelled;
    }
  });
  if (signal === undefined) return scan;
  // The caller learns of the abort now; the transaction above finishes on its own.
  scan.catch(() => {});
  return Promise.race([
    scan,
    new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      void scan.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
    }),
  ]);
}
