import type { FastifyReply } from 'fastify';

// A signal that aborts when the client closes its connection before its answer is sent, for
// work worth calling off then (a scan: packages/bastion/src/security/scan-admission.ts). The response's 'close'
// comes when the socket closes, or after the answer was written (writableFinished); only the
// first is a hang-up.

/** Why the work was called off: logged as 499 (the client closed the request), never as our failure. */
export class ClientGoneError extends Error {
  readonly statusCode = 499;
  constructor() {
    super('The client closed the connection before the answer.');
    this.name = 'ClientGoneError';
  }
}

const signals = new WeakMap<FastifyReply, AbortSignal>();

/** Aborts (with ClientGoneError) when this request's client hangs up; one signal per request. */
export function clientGone(reply: FastifyReply): AbortSignal {
  let signal = signals.get(reply);
  if (signal !== undefined) return signal;
  const controller = new AbortController();
  signal = controller.signal;
  signals.set(reply, signal);
  const res = reply.raw;
  // Already gone before anyone asked (an inject()ed request has no socket and never hangs up).
  if ((res.destroyed || res.socket?.destroyed === true) && !res.writableFinished) controller.abort(new ClientGoneError());
  else res.once('close', () => !res.writableFinished && controller.abort(new ClientGoneError()));
  return signal;
}
