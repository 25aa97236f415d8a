import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite, { type Statement } from 'better-sqlite3';
import type { ScanReply, ScanRequest } from './scan-readers.js';

// One scan reader (src/db/scan-readers.ts): a read-only connection of its own to the SQLite file,
// answering one compiled query at a time. Read-only in SQLite's own sense, so nothing sent here
// can write; in WAL mode it reads the last committed state without blocking the writer.

const { file, niceness } = workerData as { file: string; niceness: number };

// Scans are best effort: when the cores are contended, the event loop's thread should run first
// and a crowd of scans slow the searches, not every other page. Linux keeps a nice value per
// thread, so this lowers only the reader's (elsewhere the same call would renice the whole
// process, so it is left out there).
if (process.platform === 'linux') setPriority(niceness);
const db = new SQLite(file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');

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

parentPort!.on('message', ({ id, sql, parameters }: ScanRequest) => {
  let reply: ScanReply;
  try {
    reply = { id, rows: statement(sql).all(...parameters) };
  } catch (err) {
    const { message, code } = err as { message: string; code?: string };
    reply = { id, error: { message, ...(code === undefined ? {} : { code }) } };
  }
  parentPort!.postMessage(reply);
});
