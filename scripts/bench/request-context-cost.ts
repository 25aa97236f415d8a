import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { AccessLogController } from '../../packages/bastion/src/http/access-log.js';
import { loggerOptions } from '../../packages/bastion/src/http/logger.js';
import { registerRequestContext } from '../../packages/bastion/src/http/request-context.js';
import { headerSetter } from '../../packages/bastion/src/http/security-headers.js';

// What entering the request context (packages/bastion/src/http/request-context.ts) costs per request, two ways in
// one run. First the hook alone: the real hook function against a no-op one, called in
// alternating rounds of a tight loop (wall time per call). Then a whole request: two Fastify
// instances in one process, the same but for the hook (the app's logger and access line
// into a discarding stream, its header hook, an async preHandler, a route with a few awaits),
// driven by inject in alternating batches. Reported as CPU time per request (this process's
// user + system time): alternating in one process cancels most of what a busy machine adds.
// Keep the total modest: inject here keeps ~10 KB per request alive (plain Fastify too, on
// Node 24; the HTTP path does not), so 100,000 requests hold about a gigabyte.
//   node --import tsx scripts/bench/request-context-cost.ts [requests per batch] [batches]

const PATH = '/bench/ping';

async function build(withContext: boolean): Promise<FastifyInstance> {
  const discard = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const app = Fastify({
    logger: loggerOptions({ logLevel: 'info' }, discard),
    logController: new AccessLogController(),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  });
  if (withContext) registerRequestContext(app);
  const setHeaders = headerSetter({ isProduction: true });
  app.addHook('onRequest', (request, reply, done) => {
    setHeaders(request, reply);
    done();
  });
  app.addHook('preHandler', async () => {});
  app.get(PATH, async () => {
    for (let i = 0; i < 3; i++) await Promise.resolve();
    return { status: 'ok' };
  });
  await app.ready();
  return app;
}

/** CPU microseconds per request over one batch. */
async function batch(app: FastifyInstance, requests: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i += 50) {
    const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: PATH })));
    if (answers.some((a) => a.statusCode !== 200)) throw new Error('a request failed');
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / requests;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Nanoseconds per call of `hook`, over `calls` calls. */
function loop(hook: (request: { id: string }, reply: unknown, done: () => void) => void, calls: number): number {
  const ids = Array.from({ length: 1024 }, () => ({ id: randomUUID() }));
  let finished = 0;
  const done = (): void => {
    finished++;
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) hook(ids[i & 1023]!, null, done);
  const ns = Number(process.hrtime.bigint() - start) / calls;
  if (finished !== calls) throw new Error('the hook did not continue');
  return ns;
}

let realHook: Parameters<typeof loop>[0] | undefined;
registerRequestContext({ addHook: (_name: string, hook: Parameters<typeof loop>[0]) => (realHook = hook) } as unknown as FastifyInstance);
const noopHook: Parameters<typeof loop>[0] = (_request, _reply, done) => done();
const hookNs = { without: [] as number[], with: [] as number[] };
for (let i = 0; i < 11; i++) {
  hookNs.without.push(loop(noopHook, 200_000));
  hookNs.with.push(loop(realHook!, 200_000));
}

const requests = Number(process.argv[2] ?? 4_000);
const batches = Number(process.argv[3] ?? 8);
const without = await build(false);
const withContext = await build(true);
await batch(without, requests); // warm-up: both compiled and optimised before anything counts
await batch(withContext, requests);
const results = { without: [] as number[], with: [] as number[] };
for (let i = 0; i < batches; i++) {
  // Alternating which goes first, so a drift in the machine's load falls on both alike.
  const order = i % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
  for (const variant of order) results[variant].push(await batch(variant === 'with' ? withContext : without, requests));
}
const a = median(results.without);
const b = median(results.with);
const hookA = median(hookNs.without);
const hookB = median(hookNs.with);
process.stdout.write(
  `Node ${process.version}\n` +
    `the hook alone, median of 11 rounds of 200,000 calls: ${hookB.toFixed(0)} ns per call against ${hookA.toFixed(0)} ns for a no-op hook (+${(hookB - hookA).toFixed(0)} ns)\n`,
);
process.stdout.write(
  `a whole request, ${batches} alternating batches of ${requests} requests, medians of CPU time per request\n` +
    `without the request context: ${a.toFixed(2)} µs\n` +
    `with the request context:    ${b.toFixed(2)} µs\n` +
    `difference: ${(b - a).toFixed(2)} µs per request (${(((b - a) / a) * 100).toFixed(1)}%)\n`,
);
