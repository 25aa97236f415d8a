import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';

// The id of the request whose work is running, wherever that work goes on: the timers, promise
// continuations and callbacks a request starts carry it (AsyncLocalStorage), so an error that
// escapes them all is logged with the request it came from (packages/bastion/src/crash-handlers.ts). It is
// entered by the first onRequest hook, around the rest of the request's lifecycle; Fastify keeps
// it across body parsing (its content-type parser runs in an AsyncResource made per request).
// The store is the id string itself. Cost on Node 24: about 0.5 µs a request (run() makes two
// context frames, one to enter and one to restore; scripts/bench/request-context-cost.ts).
//
// What carries an id is what was created in the request's context: a connection or worker that
// a pool opens while serving a request keeps that request's id for the events it emits later.

const requestIds = new AsyncLocalStorage<string>();

/** Registers the hook; call before any other onRequest hook, so that all of them run inside it. */
export function registerRequestContext(app: FastifyInstance): void {
  app.addHook('onRequest', function enterRequestContext(request, _reply, done) {
    requestIds.run(request.id, done);
  });
}

/** The id of the request whose work is running now, if any. */
export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}
