import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite, { type Statement } from 'better-sqlite3';
import { CHECKPOINT_FUNCTION } from './scan-checkpoint.js';
import { STOP_SLOTS, type ScanReply, type ScanRequest } from './scan-readers.js';

// One scan reader (packages/bastion/src/db/scan-readers.ts): a read-only connection of its own to the SQLite file,
// answering one compiled query at a time. Read-only in SQLite's own sense, so nothing sent here
// can write; in WAL mode it reads the last committed state without blocking the writer.

const { file, niceness, stops } = workerData as { file: string; niceness: number; stops: SharedArrayBuffer };

// Scans are best effort: when the cores are contended, the event loop's thread should run first
// and a crowd of scans slow the searches, not every other page. Linux keeps a nice value per
// thread, so this lowers only the reader's (elsewhere the same call would renice the whole
// process, so it is left out there).
if (process.platform === 'linux') setPriority(niceness);
const db = new SQLite(file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');

// The scans the app stopped (deadline passed, client gone): slot id % STOP_SLOTS holds the id.
// The app writes it while this thread is inside a statement, so it is read with Atomics.
const stopped = new Int32Array(stops);
const isStopped = (id: number): boolean => Atomics.load(stopped, id % STOP_SLOTS) === id;

class Stopped extends Error {}
let running = 0;
// Called once per row by every select (packages/bastion/src/db/scan-checkpoint.ts): throwing abandons the statement.
db.function(CHECKPOINT_FUNCTION, { deterministic: false, directOnly: true }, () => {
  if (isStopped(running)) throw new Stopped();
  return 1;
});

// A search or an admin listing compiles to one of a few dozen shapes (how many words, which of
// them indexed, which filters); the cache is bounded all the same.
const MAX_STATEMENTS = 64;
const statements = new Map<string, Statement>();

function statement(sql: string): Statement {
  let found = statements.get(sql);
  if (found === undefined) {
    if (statements.size >= MAX_STATEMENTS) statements.clear();
    found = db.prepare(sql);
    statements.set(sql, found);
  }
  return found;
}

// Scans sent before this point waited for the thread to start: their deadlines start now.
parentPort!.postMessage({ ready: true } satisfies ScanReply);

parentPort!.on('message', ({ id, sql, parameters }: ScanRequest) => {
  let reply: ScanReply;
  running = id;
  try {
    // One stopped while it waited here for the scan before it is not started at all.
    if (isStopped(id)) throw new Stopped();
    reply = { id, rows: statement(sql).all(...parameters) };
  } catch (err) {
    if (err instanceof Stopped) reply = { id, stopped: true };
    else {
      const { message, code } = err as { message: string; code?: string };
      reply = { id, error: { message, ...(code === undefined ? {} : { code }) } };
    }
  } finally {
    running = 0;
  }
  parentPort!.postMessage(reply);
});
