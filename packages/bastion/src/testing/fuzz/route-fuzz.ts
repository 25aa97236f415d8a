import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ensure, keepCookies, makeFixtures, type Fixtures, type IdentityPages, type KnownContent } from './fuzz-identities.js';
import { describeRequest, renderRequest, requestSpecArb, sweepSpecs, type RequestSpec } from './fuzz-requests.js';
import { Hang, startTarget, type RawResponse, type Target, type TargetSpec } from './target-process.js';
import type { FuzzRoute } from './target-protocol.js';

// Schema-driven fuzzing of every route the app registers (enumerated as they register, so a
// new route is fuzzed without anyone writing a test for it). Each route gets requests generated
// from its own params/querystring/body schema plus hostile values (non-finite and huge numbers,
// every encoding of `/` and `.`, long and deep input, wrong types, duplicate keys, odd methods
// and content types), as an anonymous visitor, a member and an admin. Every request must:
// answer (a hang fails after requestTimeoutMs: the app runs in its own process, so a frozen
// event loop cannot freeze the test), answer below 500, and cost the app's process no more CPU
// than cpuRatio times a trivial request measured in the same run; /healthz (Bastion's own
// probe) must answer after every route. Seeded: the same seed sends the same requests.

export interface FuzzSettings extends IdentityPages {
  readonly seed: number;
  /** Generated requests per route, beside the sweep of hostile numbers and path fragments. */
  readonly runs: number;
  readonly requestTimeoutMs: number;
  /** Generous on purpose: a heavy page or a login's hash is tens of trivial requests; a stall is thousands. */
  readonly cpuRatio: number;
  readonly content?: KnownContent;
}

/** The defaults, each overridable from the environment so a failure can be replayed or a run made longer. */
export function fuzzSettingsFromEnv(env: NodeJS.ProcessEnv, pages: IdentityPages, content?: KnownContent): FuzzSettings {
  return {
    ...pages,
    seed: Number(env.FUZZ_SEED ?? 16),
    runs: Number(env.FUZZ_RUNS ?? 15),
    requestTimeoutMs: Number(env.FUZZ_REQUEST_TIMEOUT_MS ?? 10_000),
    cpuRatio: Number(env.FUZZ_CPU_RATIO ?? 300),
    ...(content ? { content } : {}),
  };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PROBE = { method: 'GET', path: '/healthz', headers: { 'x-forwarded-for': '192.0.2.1' } } as const;

class Finding extends Error {}

export interface RouteVerdict {
  readonly problems: string[];
  /** The most CPU one request of this route cost, in microseconds. */
  readonly heaviest: number;
}

/** One app process under fuzz, its identities, and the CPU budget measured on it. */
export class FuzzSession {
  private constructor(
    private readonly spec: TargetSpec,
    private readonly settings: FuzzSettings,
    private target: Target,
    private fixtures: Fixtures,
    /** CPU microseconds a request may cost. */
    readonly budget: number,
    readonly trivial: number,
  ) {}

  static async start(spec: TargetSpec, settings: FuzzSettings): Promise<FuzzSession> {
    const target = await startTarget(spec);
    try {
      const fixtures = await makeFixtures(target, settings, settings.content);
      const trivial = await trivialCost(target, settings.requestTimeoutMs);
      return new FuzzSession(spec, settings, target, fixtures, trivial * settings.cpuRatio, trivial);
    } catch (err) {
      await target.stop();
      throw err;
    }
  }

  /** The routes to fuzz: HEAD twins of GET routes are covered by HEAD among the odd methods. */
  get routes(): FuzzRoute[] {
    const gets = new Set(this.target.routes.filter((r) => r.method === 'GET').map((r) => r.url));
    return this.target.routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
  }

  stop(): Promise<void> {
    return this.target.stop();
  }

  async healthy(): Promise<boolean> {
    try {
      return (await this.target.send(PROBE, this.settings.requestTimeoutMs)).status === 200;
    } catch {
      return false;
    }
  }

  /** Each route's own seed, so adding a route does not change what the others are sent. */
  routeSeed(route: FuzzRoute): number {
    return createHash('sha256').update(`${this.settings.seed} ${route.method} ${route.url}`).digest().readUInt32BE(0);
  }

  /** Sends the sweep and the generated requests to one route; what went wrong, if anything. */
  async fuzzRoute(route: FuzzRoute): Promise<RouteVerdict> {
    const { settings } = this;
    if (!this.target.alive() || !(await this.healthy())) await this.restart();
    await ensure(this.target, this.fixtures, settings, settings.content);
    const seed = this.routeSeed(route);
    const state = { heaviest: 0, cpuMark: null as number | null };
    const problems: string[] = [];
    for (const spec of sweepSpecs(route)) {
      try {
        // A member refused (an admin page) tries again as the admin, to reach the handler.
        if ((await this.attack(route, spec, state)) === 'refused') await this.attack(route, { ...spec, identity: 'admin' }, state);
      } catch (err) {
        if (!(err instanceof Finding)) throw err;
        problems.push(`${route.method} ${route.url} (sweep) ${err.message}`);
        break;
      }
    }
    if (problems.length === 0 || (await this.healthy())) {
      const knownNames = new Set(Object.keys(this.fixtures.known));
      const result = await fc.check(
        fc.asyncProperty(requestSpecArb(route, knownNames), async (spec) => {
          await this.attack(route, spec, state);
        }),
        { seed, numRuns: settings.runs, endOnFailure: true },
      );
      if (result.failed) {
        const why = result.errorInstance instanceof Finding ? result.errorInstance.message : String(result.errorInstance);
        problems.push(
          `${route.method} ${route.url} ${why}\n  replay: FUZZ_SEED=${settings.seed} (route seed ${seed}, path ${result.counterexamplePath ?? ''})`,
        );
      }
    }
    if (problems.length === 0 && !(await this.healthy()))
      problems.push(`/healthz stopped answering after ${route.method} ${route.url} was fuzzed`);
    return { problems, heaviest: state.heaviest };
  }

  private async restart(): Promise<void> {
    await this.target.stop();
    this.target = await startTarget(this.spec);
    this.fixtures = await makeFixtures(this.target, this.settings, this.settings.content);
  }

  /** Sends one generated request and checks the answer; throws a Finding if it is wrong. */
  private async attack(
    route: FuzzRoute,
    spec: RequestSpec,
    state: { heaviest: number; cpuMark: number | null },
  ): Promise<'refused' | 'answered'> {
    const { target, fixtures, settings, budget } = this;
    const timeout = settings.requestTimeoutMs;
    const identity = fixtures.identities[spec.identity];
    if (identity.dirty) {
      await ensure(target, fixtures, settings, settings.content);
      state.cpuMark = null;
    }
    const req = renderRequest(route, spec, fixtures, target.origin);
    const said = () => describeRequest(req, spec.identity);
    // The reading after one request is the reading before the next: one IPC round trip each.
    const before = state.cpuMark ?? (await target.cpu(timeout));
    state.cpuMark = null;
    let res: RawResponse | null = null;
    try {
      res = await target.send(req, timeout);
    } catch (err) {
      if (err instanceof Hang) {
        const alive = await this.healthy();
        throw new Finding(
          `no answer within ${timeout} ms (${alive ? '/healthz still answers' : 'the whole server stopped answering, /healthz included'}):\n    ${said()}`,
        );
      }
      // A connection the server closed (a 413 sent before the whole body was read) is an
      // answer; the server must still be up.
      if (!(await this.healthy())) throw new Finding(`the server died (${String(err)}):\n    ${said()}\n${target.stderr().slice(-2_000)}`);
    }
    let after: number;
    try {
      after = await target.cpu(timeout);
    } catch {
      throw new Finding(`the server stopped answering after:\n    ${said()}`);
    }
    let cost = after - before;
    state.cpuMark = after;
    if (cost > budget) {
      // Once is a warm-up (a reader thread starting, a template compiling): the same request
      // again must come in under budget. A cost that comes with the request repeats.
      const again = await target.cpu(timeout);
      await target.send(req, timeout).catch(() => null);
      state.cpuMark = await target.cpu(timeout);
      cost = Math.min(cost, state.cpuMark - again);
    }
    state.heaviest = Math.max(state.heaviest, cost);
    if (res && res.status >= 500) throw new Finding(`answered ${res.status}:\n    ${said()}\n    → ${res.body.slice(0, 200)}`);
    if (cost > budget)
      throw new Finding(
        `cost ${Math.round(cost / 1000)} ms of CPU twice in a row, over the budget of ${Math.round(budget / 1000)} ms (${settings.cpuRatio} × a trivial request):\n    ${said()}`,
      );
    if (res) {
      const sessionChanged = keepCookies(identity.jar, res);
      if (sessionChanged || (UNSAFE.has(req.method) && res.status < 400) || res.status === 401 || res.status === 403) identity.dirty = true;
      // Someone else may have changed too (an admin locked the member, an article went).
      if (UNSAFE.has(req.method) && res.status < 400) for (const other of Object.values(fixtures.identities)) other.dirty = true;
    }
    return res?.status === 401 || res?.status === 403 ? 'refused' : 'answered';
  }
}

/** CPU microseconds of the app's process around one request: the cost of a trivial one, as a median. */
async function trivialCost(target: Target, timeoutMs: number): Promise<number> {
  const costs: number[] = [];
  for (let i = 0; i < 41; i++) {
    const before = await target.cpu(timeoutMs);
    await target.send(PROBE, timeoutMs);
    costs.push((await target.cpu(timeoutMs)) - before);
  }
  return costs.sort((a, b) => a - b)[20]!;
}
