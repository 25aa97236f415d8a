import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { MemorySample } from './child-ipc.js';
import { startChild, type ChildServer } from './child-process.js';
import { obtainCredentials } from './credentials.js';
import { prepareSeparateProbe } from './separate-probe.js';
import { runLoad, type LoadResult, type RequestSpec } from './load.js';
import type { BenchBackend, BenchOptions } from './options.js';
import { LIST_PATH, TRIVIAL_HEADERS_PATH, TRIVIAL_PATH } from './paths.js';
import { memoryMix, scenarios, type Scenario, type Target } from './scenarios.js';
import { BENCH_PG_URL, prepareStorage, type BenchStorage } from './storage.js';

// One backend's run: seed, start the app and the baselines as separate processes, check that
// they answer what they should, measure memory over a mixed load, then every scenario.

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly result: LoadResult;
  readonly probe?: LoadResult;
  /** Server CPU time (all threads) per response during the scenario, microseconds. */
  readonly cpuPerRequest: number;
  /** The server's event-loop delay during the scenario (p99), milliseconds. */
  readonly loopDelayP99: number;
}

export interface BackendReport {
  readonly backend: BenchBackend;
  readonly seed: { readonly users: number; readonly articles: number };
  readonly duration: number;
  readonly rounds: number;
  readonly connections: number;
  readonly results: readonly ScenarioResult[];
  readonly memoryPhase: {
    readonly result: LoadResult;
    readonly first: MemorySample;
    readonly last: MemorySample;
    readonly requests: readonly [number, number];
  } | null;
  /** Peak RSS of the app's process over the whole run, bytes. */
  readonly peakRss: number;
}

const POOL_MAX = '10';

export async function benchBackend(backend: BenchBackend, options: BenchOptions): Promise<BackendReport> {
  const log = (line: string): void => options.log(`[${backend}] ${line}`);
  log(`seeding ${options.seedUsers} users, ${options.seedArticles} articles …`);
  const storage = await prepareStorage(backend, { users: options.seedUsers, articles: options.seedArticles });
  const children: ChildServer[] = [];
  try {
    // Default file names: tsx's loader thread writes a profile too; the largest file is the server's.
    const profile = (who: string): string[] =>
      options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options.cpuProfDir, backend, who)}`] : [];
    const app = await startChild('app', 'app-server.ts', appSpec(storage), { nodeArgs: profile('app') });
    children.push(app);
    const baseline = await startChild(
      'baseline',
      'baseline-server.ts',
      {
        sqliteFile: storage.sqliteFile,
        postgres: storage.searchPath ? { url: BENCH_PG_URL, schema: storage.searchPath, poolMax: Number(POOL_MAX) } : null,
      },
      { nodeArgs: profile('baseline') },
    );
    children.push(baseline);
    log(`app pid ${app.pid} at ${app.url}, baselines pid ${baseline.pid} at ${baseline.url}`);

    await sameListJson(app.url, baseline.url);
    await sameHeaderNames(app.url, baseline.url + TRIVIAL_HEADERS_PATH);
    const credentials = await obtainCredentials(app.url, storage, 10);
    const plan = scenarios(storage, credentials).filter((s) => options.only.length === 0 || options.only.includes(s.id));
    const servers: Partial<Record<Target, ChildServer>> = { app, baseline };
    if (plan.some((s) => s.target === 'app-quiet')) {
      const quiet = await startChild('app-quiet', 'app-server.ts', appSpec(storage, 'warn'), { nodeArgs: profile('app-quiet') });
      children.push(quiet);
      servers['app-quiet'] = quiet;
    }
    if (plan.some((s) => s.target === 'floor')) {
      const floor = await startChild('floor', 'floor-server.ts', {}, { nodeArgs: profile('floor') });
      children.push(floor);
      servers.floor = floor;
      await sameHeaderNames(app.url, floor.url + TRIVIAL_PATH);
    }
    const serverFor = (s: Scenario): ChildServer => servers[s.target]!;
    for (const s of plan) await preflight(serverFor(s).url, s);

    let memoryPhase: BackendReport['memoryPhase'] = null;
    const mix = memoryMix(scenarios(storage, credentials));
    if (options.only.length === 0) {
      const [first, total] = options.memoryRequests;
      log(`memory phase: ${total} mixed requests …`);
      const a = await runLoad(app.url, mix, { connections: options.connections, amount: first });
      const firstSample = await app.memory(true);
      const b = await runLoad(app.url, mix, { connections: options.connections, amount: total - first });
      const lastSample = await app.memory(true);
      memoryPhase = { result: merge(a, b), first: firstSample, last: lastSample, requests: options.memoryRequests };
    }

    // Rounds: every scenario runs in each round for its share of the time, so a baseline and
    // the scenario compared with it are measured minutes apart at most and a burst of someone
    // else's load hits both, not one of them. The login scenario runs once, at the end.
    const rounds = Math.max(1, options.rounds);
    const slice = options.duration / rounds;
    const parts = new Map<string, Array<{ result: LoadResult; probe?: LoadResult; cpu: number; loop: number }>>();
    const once = plan.filter((s) => s.probe);
    const repeated = plan.filter((s) => !s.probe);
    for (let round = 0; round < rounds; round++) {
      for (const s of round === rounds - 1 ? [...repeated, ...once] : repeated) {
        const server = serverFor(s);
        const seconds = Math.max(s.probe ? options.duration : slice, s.minSeconds ?? 0);
        log(`${s.id}: ${s.label} (${seconds} s${s.probe ? '' : `, round ${round + 1} of ${rounds}`}) …`);
        if (round === 0 && !s.probe && options.duration >= 5)
          await runLoad(server.url, s.requests, { connections: options.connections, duration: 1 });
        const prober = s.probe
          ? await prepareSeparateProbe(server.url, s.probe.requests, {
              connections: s.probe.connections,
              duration: seconds,
              overallRate: s.probe.overallRate,
              addressBlock: 1,
            })
          : undefined;
        const cpuBefore = await server.cpuMicros();
        await server.loopDelay();
        const [result, probe] = await Promise.all([
          runLoad(server.url, s.requests, { connections: options.connections, duration: seconds }),
          prober?.run(),
        ]);
        const cpu = (await server.cpuMicros()) - cpuBefore;
        const loop = await server.loopDelay();
        const list = parts.get(s.id) ?? [];
        list.push({ result, ...(probe ? { probe } : {}), cpu, loop: loop.p99 });
        parts.set(s.id, list);
      }
    }
    const results: ScenarioResult[] = plan.map((s) => {
      const list = parts.get(s.id)!;
      const result = list.map((p) => p.result).reduce(merge);
      const probes = list.flatMap((p) => (p.probe ? [p.probe] : []));
      const probe = probes.length > 0 ? probes.reduce(merge) : undefined;
      const cpu = list.reduce((n, p) => n + p.cpu, 0);
      return {
        scenario: s,
        result,
        ...(probe ? { probe } : {}),
        cpuPerRequest: cpu / Math.max(1, result.requests + (probe?.requests ?? 0)),
        loopDelayP99: Math.max(...list.map((p) => p.loop)),
      };
    });
    const peak = await app.memory(false);
    return {
      backend,
      seed: { users: options.seedUsers, articles: options.seedArticles },
      duration: options.duration,
      rounds: Math.max(1, options.rounds),
      connections: options.connections,
      results,
      memoryPhase,
      peakRss: peak.maxRss,
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await storage.cleanup();
  }
}

function appSpec(storage: BenchStorage, logLevel: 'info' | 'warn' = 'info'): object {
  return {
    env: {
      ...storage.env,
      // A production configuration that `bastion check` accepts, behind a proxy on loopback
      // (the bench itself), logging at the default level.
      NODE_ENV: 'production',
      PUBLIC_ORIGIN: 'https://conduit.bench.example',
      TRUST_PROXY: 'loopback',
      LOG_LEVEL: logLevel,
      DATABASE_POOL_MAX: POOL_MAX,
    },
    ...(storage.searchPath ? { searchPath: storage.searchPath } : {}),
    ...(storage.redisPrefix ? { redisPrefix: storage.redisPrefix } : {}),
  };
}

const PROXY = { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' };

async function send(baseUrl: string, spec: RequestSpec): Promise<Response> {
  return fetch(baseUrl + spec.path, {
    method: spec.method ?? 'GET',
    redirect: 'manual',
    headers: { ...PROXY, ...spec.headers },
    ...(spec.body !== undefined ? { body: spec.body } : {}),
  });
}

/** One request of the scenario by hand: a misconfigured bench fails here, not as a table of errors. */
async function preflight(baseUrl: string, s: Scenario): Promise<void> {
  for (const spec of [s.requests[0]!, ...(s.probe ? [s.probe.requests[0]!] : [])]) {
    const response = await send(baseUrl, spec);
    const body = await response.text();
    if (response.status !== s.expectStatus)
      throw new Error(
        `${s.id}: ${spec.method ?? 'GET'} ${spec.path} answered ${response.status}, expected ${s.expectStatus}: ${body.slice(0, 300)}`,
      );
  }
}

/** The bare query baseline must serve exactly the app's JSON, or the comparison means nothing. */
async function sameListJson(appUrl: string, baselineUrl: string): Promise<void> {
  const spec = { path: `${LIST_PATH}?limit=20` };
  const [ours, bare] = await Promise.all([send(appUrl, spec).then((r) => r.json()), send(baselineUrl, spec).then((r) => r.json())]);
  if (!isDeepStrictEqual(ours, bare)) throw new Error('the bare query baseline does not serve the same JSON as GET /api/articles?limit=20');
}

/** A reference (the headers row, the floor) must send what the app sends on the trivial route, or it explains nothing. */
async function sameHeaderNames(appUrl: string, referenceUrl: string): Promise<void> {
  const names = async (url: string): Promise<string> => {
    const response = await send(url, { path: '' });
    await response.arrayBuffer();
    return [...response.headers.keys()].sort().join(', ');
  };
  const [ours, theirs] = await Promise.all([names(appUrl + TRIVIAL_PATH), names(referenceUrl)]);
  if (ours !== theirs)
    throw new Error(`a reference sends other headers than the app's trivial route:\n  app:       ${ours}\n  ${referenceUrl}: ${theirs}`);
}

/** Two measurements as one: requests over the time of both; the worse of each percentile (the true one lies between). */
function merge(a: LoadResult, b: LoadResult): LoadResult {
  const statuses: Record<string, number> = { ...a.statuses };
  for (const [k, v] of Object.entries(b.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    requests: a.requests + b.requests,
    rps: (a.requests + b.requests) / (a.requests / a.rps + b.requests / b.rps),
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    errors: a.errors + b.errors,
    statuses,
  };
}
