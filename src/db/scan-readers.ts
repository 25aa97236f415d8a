import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CompiledQuery } from 'kysely';

// Reads that may scan many rows (a search for a word no index can look up, an admin's filter
// over the audit log) run on SQLite here, in worker threads that each hold a read-only
// connection to the same file, instead of on the app's connection. better-sqlite3 is
// synchronous: on the app's connection a 40 ms scan is 40 ms in which the event loop answers no
// one, and a few clients searching at once would stall every page. On a worker only the request
// that scans waits for it.
//
// As many threads as the hashing may use (src/accounts/password-hasher.ts): never more than the
// cores minus one, so the event loop keeps a core of its own. The callers bound how many scans
// are queued (src/security/scan-admission.ts).
export const SCAN_THREADS = Math.max(1, Math.min(2, availableParallelism() - 1));
/** The readers' nice value on Linux, against the event loop's 0: a contended core goes mostly to the event loop. */
export const READER_NICENESS = 10;

export interface ScanRequest {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export type ScanReply = { readonly id: number; readonly rows: unknown[] } | { readonly id: number; readonly error: { message: string; code?: string } };

interface Pending {
  resolve(rows: unknown[]): void;
  reject(err: Error): void;
}

class ScanReader {
  readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly worker: Worker;

  constructor(file: string, onExit: (reader: ScanReader) => void) {
    const module = new URL('./scan-reader-worker.ts', import.meta.url).href;
    this.worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { module, file, niceness: READER_NICENESS } });
    this.worker.unref();
    this.worker.on('message', (reply: ScanReply) => this.settle(reply));
    // A reader that fails to start or dies fails its own queries only; the next scan starts another.
    const stop = (err: Error) => {
      onExit(this);
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', stop);
    this.worker.on('exit', (code) => stop(new Error(`scan reader exited (${code})`)));
  }

  run(query: CompiledQuery): Promise<unknown[]> {
    const id = this.nextId++;
    const request: ScanRequest = { id, sql: query.sql, parameters: query.parameters };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Held open only while it has work: an idle reader never keeps the process alive.
      this.worker.ref();
      this.worker.postMessage(request);
    });
  }

  private settle(reply: ScanReply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (waiting === undefined) return;
    if ('rows' in reply) waiting.resolve(reply.rows);
    else waiting.reject(Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code }));
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Up to SCAN_THREADS readers of one SQLite file, started on first use; each query goes to the least busy. */
export class ScanReaders {
  private readonly readers: ScanReader[] = [];
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly threads = SCAN_THREADS,
  ) {}

  /** The rows of a compiled read-only query, read on a worker thread. */
  async run<R>(query: CompiledQuery<R>): Promise<R[]> {
    if (this.closed) throw new Error('scan readers are closed');
    return (await this.pick().run(query)) as R[];
  }

  private pick(): ScanReader {
    const idle = this.readers.find((r) => r.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.readers.length < this.threads) {
      const reader = new ScanReader(this.file, (gone) => {
        const at = this.readers.indexOf(gone);
        if (at >= 0) this.readers.splice(at, 1);
      });
      this.readers.push(reader);
      return reader;
    }
    return this.readers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.readers.splice(0).map((r) => r.close()));
  }
}
