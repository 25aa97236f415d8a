import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CompiledQuery, QueryId, RootOperationNode } from 'kysely';
import { withCheckpoints } from './scan-checkpoint.js';
import { SCAN_TIMEOUT_MS, ScanTimeoutError } from './scan-deadline.js';

// Reads that may scan many rows (a search for a word no index can look up, an admin's filter
// over the audit log) run on SQLite here, in worker threads that each hold a read-only
// connection to the same file, instead of on the app's connection. better-sqlite3 is
// synchronous: on the app's connection a 40 ms scan is 40 ms in which the event loop answers no
// one, and a few clients searching at once would stall every page. On a worker only the request
// that scans waits for it.
//
// As many threads as the hashing may use (packages/bastion/src/accounts/password-hasher.ts): never more than the
// cores minus one, so the event loop keeps a core of its own. The callers bound how many scans
// are queued (packages/bastion/src/security/scan-admission.ts).
//
// Every scan has a deadline and may be called off (its client hung up): the caller is answered
// at once, and the reader is told to stop through memory both threads share, which its
// statement reads once per row (packages/bastion/src/db/scan-checkpoint.ts). A reader still on that statement a
// while later (a row that takes long in C) is terminated and a fresh one takes its place; the
// scans that were queued behind it go to the fresh one, their deadlines starting again there.
export const SCAN_THREADS = Math.max(1, Math.min(2, availableParallelism() - 1));
/** The readers' nice value on Linux, against the event loop's 0: a contended core goes mostly to the event loop. */
export const READER_NICENESS = 10;
/** Stopped scans are written at id % STOP_SLOTS: ids that far apart are never in flight on one reader together. */
export const STOP_SLOTS = 64;
/** How long a reader told to stop may take to let go of its statement before it is replaced. */
export const STOP_GRACE_MS = 500;
// Beside this module and in its form: dist/…/scan-reader-worker.js when built, the .ts source when
// the tests run src/ under tsx (a worker inherits the process's `--import tsx` with its execArgv).
const READER = new URL(`./scan-reader-worker${extname(import.meta.url)}`, import.meta.url);

export interface ScanRequest {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export type ScanReply =
  | { readonly ready: true }
  | { readonly id: number; readonly rows: unknown[] }
  | { readonly id: number; readonly stopped: true }
  | { readonly id: number; readonly error: { message: string; code?: string } };

/** One scan, from the caller's side: where it was sent last, and how its caller is answered. */
interface Scan {
  readonly query: CompiledQuery;
  reader: ScanReader | undefined;
  /** Its id on that reader. */
  id: number;
  /** Its caller has been answered (rows, an error, or told it was stopped). */
  done: boolean;
  /** Armed when its reader has started. */
  deadline: NodeJS.Timeout | undefined;
  /** Answers the caller, once; later calls do nothing. */
  settle(outcome: { rows: unknown[] } | { error: Error }): void;
  /** Answers the caller with `error` and tells its reader to drop it. */
  stop(error: Error): void;
}

/** Compiles a query's tree for SQLite (the app's own compiler, so statements read the same). */
export type CompileQuery = (node: RootOperationNode, queryId: QueryId) => CompiledQuery;

class ScanReader {
  /** Scans sent to this thread and not yet answered by it, oldest (the one it is running) first. */
  readonly pending = new Map<number, Scan>();
  /** Resolved when the thread has started (loading it may take a while on a busy machine): deadlines count from then. */
  readonly started: Promise<void>;
  private nextId = 1;
  private readonly worker: Worker;
  private readonly stops = new SharedArrayBuffer(4 * STOP_SLOTS);
  private readonly stopped = new Int32Array(this.stops);
  private gone = false;

  /** `onRetire`: this reader takes no more scans; `orphans` were waiting on it, not yet answered, and should be sent elsewhere. */
  constructor(
    file: string,
    private readonly onRetire: (reader: ScanReader, orphans: Scan[]) => void,
  ) {
    let onStarted!: () => void;
    this.started = new Promise((resolve) => (onStarted = resolve));
    this.worker = new Worker(READER, { workerData: { file, niceness: READER_NICENESS, stops: this.stops } });
    this.worker.unref();
    this.worker.on('message', (reply: ScanReply) => ('ready' in reply ? onStarted() : this.answer(reply)));
    // A reader that fails to start or dies fails its own queries only; the next scan starts another.
    this.worker.on('error', (err) => this.retire(err));
    this.worker.on('exit', (code) => this.retire(new Error(`scan reader exited (${code})`)));
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  send(scan: Scan): void {
    // Kept within an Int32 slot of the shared stop list.
    const id = this.nextId;
    this.nextId = (this.nextId % 0x7fff_ffff) + 1;
    scan.reader = this;
    scan.id = id;
    this.pending.set(id, scan);
    // Held open only while it has work: an idle reader never keeps the process alive.
    this.worker.ref();
    this.worker.postMessage({ id, sql: scan.query.sql, parameters: scan.query.parameters } satisfies ScanRequest);
  }

  /**
   * Tells the thread to drop `scan` (already answered): at its next row if it is running it, at
   * once if it has not started it. Still on it `graceMs` later (a row that takes long in C), the
   * thread is replaced.
   */
  stop(scan: Scan, graceMs: number): void {
    const id = scan.id;
    Atomics.store(this.stopped, id % STOP_SLOTS, id);
    setTimeout(() => {
      // Still the oldest unanswered: the thread is still on that statement.
      if (this.pending.keys().next().value === id) this.kill();
    }, graceMs).unref();
  }

  private answer(reply: Exclude<ScanReply, { ready: true }>): void {
    const scan = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (scan === undefined) return;
    if ('rows' in reply) scan.settle({ rows: reply.rows });
    // Stopped: its caller was already answered when it was stopped.
    else if ('stopped' in reply) scan.settle({ error: new ScanTimeoutError() });
    else
      scan.settle({
        error: Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code }),
      });
  }

  /**
   * Out of service: no new scans come here. With `err` (the thread failed or ended), the scans
   * still waiting on it fail with it; without (it was replaced), they are handed back to be sent
   * to another reader: they did nothing wrong.
   */
  private retire(err: Error | null): void {
    if (this.gone) return;
    this.gone = true;
    const waiting = [...this.pending.values()].filter((scan) => !scan.done);
    this.pending.clear();
    if (err !== null) for (const scan of waiting) scan.settle({ error: err });
    this.onRetire(this, err === null ? waiting : []);
  }

  /** Replaces a reader stuck on a stopped statement. The thread itself ends when it next runs JavaScript (its next checkpoint, or the statement's end). */
  private kill(): void {
    this.retire(null);
    this.worker.unref();
    void this.worker.terminate();
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

export interface ScanReaderOptions {
  /** Threads at most (default SCAN_THREADS). */
  readonly threads?: number;
  /** Each scan's deadline (default SCAN_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** Up to `threads` readers of one SQLite file, started on first use; each query goes to the least busy. */
export class ScanReaders {
  private readonly readers: ScanReader[] = [];
  private closed = false;
  private readonly threads: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly file: string,
    private readonly compile: CompileQuery,
    options: ScanReaderOptions = {},
  ) {
    this.threads = options.threads ?? SCAN_THREADS;
    this.timeoutMs = options.timeoutMs ?? SCAN_TIMEOUT_MS;
  }

  /**
   * The rows of a compiled read-only query, read on a worker thread with a checkpoint in every
   * select. Rejects with ScanTimeoutError past the deadline, with the signal's reason once it aborts.
   */
  async run<R>(query: CompiledQuery<R>, signal?: AbortSignal): Promise<R[]> {
    if (this.closed) throw new Error('scan readers are closed');
    signal?.throwIfAborted();
    const checked = this.compile(withCheckpoints(query.query), query.queryId);
    const grace = Math.min(STOP_GRACE_MS, this.timeoutMs);
    return new Promise<R[]>((resolve, reject) => {
      const onAbort = () => scan.stop(signal!.reason as Error);
      const scan: Scan = {
        query: checked,
        reader: undefined,
        id: 0,
        done: false,
        deadline: undefined,
        settle(outcome) {
          if (scan.done) return;
          scan.done = true;
          clearTimeout(scan.deadline);
          signal?.removeEventListener('abort', onAbort);
          if ('rows' in outcome) resolve(outcome.rows as R[]);
          else reject(outcome.error);
        },
        stop(error) {
          if (scan.done) return;
          scan.settle({ error });
          scan.reader?.stop(scan, grace);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch(scan);
    });
  }

  /** Sends `scan` to the least busy reader; its deadline counts from when that reader has started. */
  private dispatch(scan: Scan): void {
    const reader = this.pick();
    reader.send(scan);
    clearTimeout(scan.deadline);
    void reader.started.then(() => {
      if (!scan.done && scan.reader === reader) scan.deadline = setTimeout(() => scan.stop(new ScanTimeoutError()), this.timeoutMs).unref();
    });
  }

  /** The threads in service now, by id (a replaced one is no longer among them). */
  get threadIds(): number[] {
    return this.readers.map((r) => r.threadId);
  }

  private pick(): ScanReader {
    const idle = this.readers.find((r) => r.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.readers.length < this.threads) {
      const reader = new ScanReader(this.file, (gone, orphans) => {
        const at = this.readers.indexOf(gone);
        if (at >= 0) this.readers.splice(at, 1);
        for (const scan of orphans) {
          if (this.closed) scan.settle({ error: new Error('scan readers are closed') });
          else this.dispatch(scan);
        }
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
