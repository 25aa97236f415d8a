import pino from 'pino';

// Where the log goes when no stream is given: standard output, in batches. A write(2) per line
// costs about as much here as a whole bare-Fastify request (synchronous lines: ~20 µs more per
// request in the bench). pino's default destination avoids that by writing asynchronously
// through libuv's thread pool, and measured the same as batching; but there a line is written
// some time later, and an error logged just before a crash can be lost with the process. Here
// lines collect in memory and are written when they reach 8 KiB, every 100 ms and on exit, and
// a line at warn level or above is written at once, with everything before it, before the call
// returns. What a hard kill (SIGKILL) can lose is under 100 ms of info lines; audit events are
// rows in the database, not only log lines.
//
// The batch is an array joined once per write. sonic-boom's own batching (minLength) measures
// the UTF-8 length of its whole pending string on every line, which flattens and copies it:
// about 4 KB of garbage per 300-byte line, and the garbage collector then took 14% of the
// server's CPU on a trivial route. sonic-boom still does the writing (partial writes, EAGAIN).

const BATCH_CHARS = 8 * 1024;
const FLUSH_EVERY_MS = 100;
// pino writes the level first; 40 and above are warn, error and fatal.
const URGENT = /^\{"level":[4-9]\d/;

export interface LogDestination {
  write(line: string): void;
  flushSync(): void;
}

let stdout: LogDestination | undefined;

/** The one buffered standard-output destination of this process. */
export function stdoutDestination(): LogDestination {
  if (stdout) return stdout;
  const boom = pino.destination({ dest: 1, sync: true });
  // Standard output gone (the log collector died, EPIPE): nothing can be logged any more, and
  // the server keeps serving instead of dying of an unhandled 'error' (as pino's own default does).
  let broken = false;
  boom.on('error', () => {
    broken = true;
  });
  let pending: string[] = [];
  let pendingChars = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const batch = pending.join('');
    pending = [];
    pendingChars = 0;
    if (broken) return;
    try {
      boom.write(batch);
    } catch {
      broken = true;
    }
  };
  // Unref'd: a process with nothing else to do is not kept alive by its log.
  setInterval(flush, FLUSH_EVERY_MS).unref();
  process.on('exit', flush);
  stdout = {
    write(line) {
      if (broken) return;
      pending.push(line);
      pendingChars += line.length;
      if (pendingChars >= BATCH_CHARS || URGENT.test(line)) flush();
    },
    flushSync: flush,
  };
  return stdout;
}
