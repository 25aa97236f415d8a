import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { currentRequestId } from './http/request-context.js';

// An error that nothing caught (a throw in a timer or a callback, a rejected promise nobody
// awaited) leaves the process in a state no code planned for, so it must not go on serving.
// Node's own answer is a stack on stderr and an exit; ours is the same exit, logged first
// through the app's logger: one fatal line with the error and, when the failing code ran for a
// request, that request's id (`reqId`, as on its own log lines; packages/bastion/src/http/request-context.ts).
// Then the process stops accepting, gives the requests in flight and the pools until
// CRASH_EXIT_DEADLINE_MS to close, and exits non-zero whatever still hangs: a supervisor
// (systemd, Kubernetes, a container runtime) starts a fresh one.
// Installed by listenBastion, never on import: a library module must not own the process's exit.

export const CRASH_EXIT_CODE = 1;
export const CRASH_EXIT_DEADLINE_MS = 2_000;
// An error's message is the part that may hold input (a parser quoting what it was given).
const MAX_TEXT = 4096;

export type CrashOrigin = 'uncaughtException' | 'unhandledRejection';

export interface LoggedError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string | number;
}

const bounded = (text: string): string => (text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT)}…[truncated]`);

/**
 * What the fatal line says of a thrown value: type, message and stack (with their causes, as
 * pino's err serializer writes them) and a code; no other property, since an error may carry
 * the request it failed on (headers, body) or a client's configuration. A value that is not an
 * error is named by its type; a primitive also by its text.
 */
export function describeThrown(value: unknown): LoggedError {
  if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    const full = pino.stdSerializers.err(value as Error);
    const code = (value as { code?: unknown }).code;
    return {
      type: String(full.type),
      message: bounded(full.message),
      ...(typeof full.stack === 'string' ? { stack: bounded(full.stack) } : {}),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return { type: value === null ? 'null' : typeof value, message: bounded(String(value)) };
  }
  return { type: typeof value, message: 'a value that is not an error was thrown (its properties are not logged)' };
}

/** Installs the handlers; returns their removal (a server stopped normally leaves none behind). */
export function installCrashHandlers(log: FastifyBaseLogger, shutdown: () => Promise<void>): () => void {
  // The fatal line's `err` is described already: pino's serializer, applied again, would call
  // it an "Object".
  const crashLog = log.child({}, { serializers: { err: (described: LoggedError) => described } });
  let crashed = false;
  const onCrash = (value: unknown, origin: CrashOrigin): void => {
    const reqId = currentRequestId();
    try {
      const msg = crashed ? `${origin} while exiting after an earlier one` : `${origin}: exiting`;
      crashLog.fatal({ err: describeThrown(value), origin, ...(reqId === undefined ? {} : { reqId }) }, msg);
      // Written before this call returns: the log's destination writes a fatal line at once,
      // with everything before it (packages/bastion/src/http/log-destination.ts), and the rest on exit.
    } catch {
      // Logging failed too: the exit below matters more than the line.
    }
    // Whatever ends the process from here on (a signal's drain included) reports the failure.
    process.exitCode = CRASH_EXIT_CODE;
    if (crashed) process.exit(CRASH_EXIT_CODE);
    crashed = true;
    // Referenced on purpose: with nothing else left to wait for, the process still exits through
    // here, non-zero, rather than ending on an empty event loop.
    setTimeout(() => {
      log.error({ deadlineMs: CRASH_EXIT_DEADLINE_MS }, 'crash exit deadline passed with requests or pools still open: exiting anyway');
      process.exit(CRASH_EXIT_CODE);
    }, CRASH_EXIT_DEADLINE_MS);
    shutdown().then(
      () => process.exit(CRASH_EXIT_CODE),
      () => process.exit(CRASH_EXIT_CODE),
    );
  };
  // Under --unhandled-rejections=strict a rejection arrives here, named by its origin.
  const onException = (err: unknown, origin: string): void =>
    onCrash(err, origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException');
  const onRejection = (reason: unknown): void => onCrash(reason, 'unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
