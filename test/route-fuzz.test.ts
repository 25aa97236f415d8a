import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import test, { type TestContext } from 'node:test';
import fc from 'fast-check';
import { BACKENDS } from './helpers/backends.js';
import { ensure, keepCookies, makeFixtures, type Fixtures } from './helpers/fuzz/fuzz-identities.js';
import { describeRequest, renderRequest, requestSpecArb, sweepSpecs, type RequestSpec } from './helpers/fuzz/fuzz-requests.js';
import { Hang, startTarget, type RawResponse, type Target } from './helpers/fuzz/target-process.js';
import type { FuzzRoute } from './helpers/fuzz/target-protocol.js';

// Schema-driven fuzzing of every route the app registers (enumerated as they register, so a
// new route is fuzzed without anyone writing a test for it). Each route gets requests generated
// from its own params/querystring/body schema plus hostile values (non-finite and huge numbers,
// every encoding of `/` and `.`, long and deep input, wrong types, duplicate keys, odd methods
// and content types), as an anonymous visitor, a member and an admin. Every request must:
// answer (a hang fails after FUZZ_REQUEST_TIMEOUT_MS: the app runs in its own process, so a
// frozen event loop cannot freeze this test), answer below 500, and cost the app's process no
// more CPU than CPU_RATIO times a trivial request measured in the same run; /healthz must answer
// after every route. Seeded: FUZZ_SEED=… reproduces a run, FUZZ_RUNS=… makes it longer.

const SEED = Number(process.env.FUZZ_SEED ?? 16);
const RUNS = Number(process.env.FUZZ_RUNS ?? 15);
const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_REQUEST_TIMEOUT_MS ?? 10_000);
/** Generous on purpose: a heavy page or a login's hash is tens of trivial requests; a stall is thousands. */
const CPU_RATIO = Number(process.env.FUZZ_CPU_RATIO ?? 300);
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The routes to fuzz: HEAD twins of GET routes are covered by HEAD among the odd methods. */
function routesToFuzz(routes: readonly FuzzRoute[]): FuzzRoute[] {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  return routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
}

/** Each route's own seed, so adding a route does not change what the others are sent. */
function routeSeed(route: FuzzRoute): number {
  return createHash('sha256').update(`${SEED} ${route.method} ${route.url}`).digest().readUInt32BE(0);
}

async function healthy(target: Target): Promise<boolean> {
  try {
    const res = await target.send({ method: 'GET', path: '/healthz', headers: { 'x-forwarded-for': '192.0.2.1' } }, REQUEST_TIMEOUT_MS);
    return res.status === 200;
  } catch {
    return false;
  }
}

/** CPU microseconds of the app's process around one request: the cost of a trivial one, as a median. */
async function trivialCost(target: Target): Promise<number> {
  const costs: number[] = [];
  for (let i = 0; i < 41; i++) {
    const before = await target.cpu(REQUEST_TIMEOUT_MS);
    await target.send({ method: 'GET', path: '/healthz', headers: { 'x-forwarded-for': '192.0.2.1' } }, REQUEST_TIMEOUT_MS);
    costs.push((await target.cpu(REQUEST_TIMEOUT_MS)) - before);
  }
  return costs.sort((a, b) => a - b)[20]!;
}

class Finding extends Error {}

for (const backend of BACKENDS) {
  test(`every registered route, fuzzed from its own schema and hostile values on ${backend}, answers below 500 within its CPU budget and leaves /healthz answering`, async (t: TestContext) => {
    let target: Target = await startTarget(backend);
    t.after(() => target.stop());
    const routes = routesToFuzz(target.routes);
    // Enumeration, not a hand list: these only prove the enumeration saw both faces.
    for (const [method, url] of [['GET', '/search'], ['GET', '/api/articles'], ['POST', '/settings/sessions/revoke'], ['DELETE', '/api/articles/:slug/comments/:id']]) {
      assert.ok(routes.some((r) => r.method === method && r.url === url), `the fuzzer sees ${method} ${url}`);
    }
    let fixtures: Fixtures = await makeFixtures(target);
    const trivial = await trivialCost(target);
    const budget = trivial * CPU_RATIO;
    t.diagnostic(`${routes.length} routes, ${RUNS} requests each, seed ${SEED}; trivial request ${trivial} µs CPU, budget ${Math.round(budget / 1000)} ms`);

    const restart = async (): Promise<void> => {
      await target.stop();
      target = await startTarget(backend);
      fixtures = await makeFixtures(target);
    };

    for (const route of routes) {
      await t.test(`${route.method} ${route.url}`, async () => {
        if (!target.alive() || !(await healthy(target))) await restart();
        await ensure(target, fixtures);
        const seed = routeSeed(route);
        let heaviest = 0;
        let cpuMark: number | null = null;

        /** Sends one generated request and checks the answer; throws a Finding if it is wrong. */
        const attack = async (spec: RequestSpec): Promise<'refused' | 'answered'> => {
          const identity = fixtures.identities[spec.identity];
          if (identity.dirty) {
            await ensure(target, fixtures);
            cpuMark = null;
          }
          const req = renderRequest(route, spec, fixtures, target.origin);
          const said = () => describeRequest(req, spec.identity);
          // The reading after one request is the reading before the next: one IPC round trip each.
          const before = cpuMark ?? (await target.cpu(REQUEST_TIMEOUT_MS));
          cpuMark = null;
          let res: RawResponse | null = null;
          try {
            res = await target.send(req, REQUEST_TIMEOUT_MS);
          } catch (err) {
            if (err instanceof Hang) {
              const alive = await healthy(target);
              throw new Finding(`no answer within ${REQUEST_TIMEOUT_MS} ms (${alive ? '/healthz still answers' : 'the whole server stopped answering, /healthz included'}):\n    ${said()}`);
            }
            // A connection the server closed (a 413 sent before the whole body was read) is an
            // answer; the server must still be up.
            if (!(await healthy(target))) throw new Finding(`the server died (${String(err)}):\n    ${said()}\n${target.stderr().slice(-2_000)}`);
          }
          let after: number;
          try {
            after = await target.cpu(REQUEST_TIMEOUT_MS);
          } catch {
            throw new Finding(`the server stopped answering after:\n    ${said()}`);
          }
          let cost = after - before;
          cpuMark = after;
          if (cost > budget) {
            // Once is a warm-up (a reader thread starting, a template compiling): the same request
            // again must come in under budget. A cost that comes with the request repeats.
            const again = await target.cpu(REQUEST_TIMEOUT_MS);
            await target.send(req, REQUEST_TIMEOUT_MS).catch(() => null);
            cpuMark = await target.cpu(REQUEST_TIMEOUT_MS);
            cost = Math.min(cost, cpuMark - again);
          }
          heaviest = Math.max(heaviest, cost);
          if (res && res.status >= 500) throw new Finding(`answered ${res.status}:\n    ${said()}\n    → ${res.body.slice(0, 200)}`);
          if (cost > budget) throw new Finding(`cost ${Math.round(cost / 1000)} ms of CPU twice in a row, over the budget of ${Math.round(budget / 1000)} ms (${CPU_RATIO} × a trivial request):\n    ${said()}`);
          if (res) {
            const sessionChanged = keepCookies(identity.jar, res);
            if (sessionChanged || (UNSAFE.has(req.method) && res.status < 400) || res.status === 401 || res.status === 403) identity.dirty = true;
            // Someone else may have changed too (an admin locked the member, an article went).
            if (UNSAFE.has(req.method) && res.status < 400) for (const other of Object.values(fixtures.identities)) other.dirty = true;
          }
          return res?.status === 401 || res?.status === 403 ? 'refused' : 'answered';
        };

        const problems: string[] = [];
        for (const spec of sweepSpecs(route)) {
          try {
            // A member refused (an admin page) tries again as the admin, to reach the handler.
            if ((await attack(spec)) === 'refused') await attack({ ...spec, identity: 'admin' });
          } catch (err) {
            if (!(err instanceof Finding)) throw err;
            problems.push(`${route.method} ${route.url} (sweep) ${err.message}`);
            break;
          }
        }
        if (problems.length === 0 || (await healthy(target))) {
          const knownNames = new Set(Object.keys(fixtures.known));
          const result = await fc.check(fc.asyncProperty(requestSpecArb(route, knownNames), async (spec) => {
            await attack(spec);
          }), { seed, numRuns: RUNS, endOnFailure: true });
          if (result.failed) {
            const why = result.errorInstance instanceof Finding ? result.errorInstance.message : String(result.errorInstance);
            problems.push(`${route.method} ${route.url} ${why}\n  replay: FUZZ_SEED=${SEED} (route seed ${seed}, path ${result.counterexamplePath ?? ''})`);
          }
        }
        if (process.env.FUZZ_VERBOSE) t.diagnostic(`${route.method} ${route.url}: heaviest ${Math.round(heaviest / 1000)} ms CPU`);
        if (problems.length > 0) assert.fail(problems.join('\n\n'));
        assert.ok(await healthy(target), `/healthz answers after ${route.method} ${route.url} was fuzzed`);
      });
    }
  });
}

