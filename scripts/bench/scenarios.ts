import type { Credentials } from './credentials.js';
import type { LoadResult, RequestSpec } from './load.js';
import { LIST_PATH, TRIVIAL_HEADERS_PATH, TRIVIAL_PATH } from './paths.js';
import type { BenchStorage } from './storage.js';

// What is measured, in the order it runs. Each baseline runs just before the scenario it is
// compared with, so both see the same machine (others' test runs make it noisy).

/**
 * app: the app as configured by default; app-quiet: the same with LOG_LEVEL=warn (no per-request log lines), to tell the log's cost from the security layer's;
 * floor: the least layer the SPEC's defaults allow (scripts/bench/floor-server.ts), a reference for what the trivial route's line leaves the layer.
 */
export type Target = 'app' | 'app-quiet' | 'baseline' | 'floor';

export interface Probe {
  readonly label: string;
  readonly requests: readonly RequestSpec[];
  readonly connections: number;
  /** Requests per second: a steady trickle that measures responsiveness, not throughput. */
  readonly overallRate: number;
}

export interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly target: Target;
  readonly requests: readonly RequestSpec[];
  /** The status every response must have. */
  readonly expectStatus: number;
  /** Runs beside the load against the same server and is reported as its own row. */
  readonly probe?: Probe;
  /** Statuses that are a defence answering as designed under this load (the scan queue full: 503): shown, not counted as errors. */
  readonly refusals?: readonly number[];
  /** The least time it runs, whatever the bench's duration: a login takes ~50 ms of a core, and right after the search flood (PostgreSQL scans up to their 2 s deadline) a 1 s run on a loaded machine had no login answered yet. */
  readonly minSeconds?: number;
}

export const SCENARIO_IDS = [
  'bare-fastify',
  'bare-headers',
  'floor',
  'trivial',
  'trivial-quiet',
  'bare-query',
  'api-list',
  'api-article',
  'api-tags',
  'html-home',
  'html-article',
  'api-user',
  'html-member',
  'search',
  'login',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export function scenarios(storage: BenchStorage, credentials: Credentials): Scenario[] {
  const slugs = storage.slugs.map((s) => encodeURIComponent(s));
  const list = `${LIST_PATH}?limit=20`;
  const tags: RequestSpec[] = [{ path: '/api/tags' }];
  const all: Array<Scenario & { id: ScenarioId }> = [
    { id: 'bare-fastify', label: 'bare Fastify, trivial route', target: 'baseline', requests: [{ path: TRIVIAL_PATH }], expectStatus: 200 },
    {
      id: 'bare-headers',
      label: '↳ bare Fastify sending the same response headers',
      target: 'baseline',
      requests: [{ path: TRIVIAL_HEADERS_PATH }],
      expectStatus: 200,
    },
    {
      id: 'floor',
      label: '↳ the least layer the SPEC allows: those headers, a count per client, one access line',
      target: 'floor',
      requests: [{ path: TRIVIAL_PATH }],
      expectStatus: 200,
    },
    { id: 'trivial', label: 'trivial route, full security layer', target: 'app', requests: [{ path: TRIVIAL_PATH }], expectStatus: 200 },
    {
      id: 'trivial-quiet',
      label: '↳ the same with LOG_LEVEL=warn (no access log)',
      target: 'app-quiet',
      requests: [{ path: TRIVIAL_PATH }],
      expectStatus: 200,
    },
    {
      id: 'bare-query',
      label: 'bare query, GET /api/articles?limit=20',
      target: 'baseline',
      requests: [{ path: list }],
      expectStatus: 200,
    },
    { id: 'api-list', label: 'GET /api/articles?limit=20', target: 'app', requests: [{ path: list }], expectStatus: 200 },
    {
      id: 'api-article',
      label: 'GET /api/articles/:slug',
      target: 'app',
      requests: slugs.map((s) => ({ path: `/api/articles/${s}` })),
      expectStatus: 200,
    },
    { id: 'api-tags', label: 'GET /api/tags', target: 'app', requests: tags, expectStatus: 200 },
    { id: 'html-home', label: 'HTML home page /', target: 'app', requests: [{ path: '/' }], expectStatus: 200 },
    {
      id: 'html-article',
      label: 'HTML article page (Markdown, comments)',
      target: 'app',
      requests: slugs.map((s) => ({ path: `/article/${s}` })),
      expectStatus: 200,
    },
    {
      id: 'api-user',
      label: 'GET /api/user (token)',
      target: 'app',
      requests: credentials.tokens.map((t) => ({ path: '/api/user', headers: { authorization: `Token ${t}` } })),
      expectStatus: 200,
    },
    {
      id: 'html-member',
      label: 'HTML home as member (CSRF forms)',
      target: 'app',
      requests: credentials.sessionCookies.map((c) => ({ path: '/', headers: { cookie: c } })),
      expectStatus: 200,
    },
    {
      // Words no index can look up (and one in nearly every article): each reads every article,
      // on SQLite on the reader thread. Most of the flood is refused at once while the scan queue
      // is full; the probe shows whether the rest of the app still answers meanwhile.
      id: 'search',
      label: 'GET /search, words that scan every article',
      target: 'app',
      requests: ['%', '_', 'go', 'the'].map((q) => ({ path: `/search?q=${encodeURIComponent(q)}` })),
      expectStatus: 200,
      refusals: [503],
      probe: { label: 'GET /api/tags while searches queue', requests: tags, connections: 5, overallRate: 100 },
    },
    {
      id: 'login',
      label: 'POST /api/users/login (argon2id)',
      target: 'app',
      requests: storage.accounts.map((a) => ({
        method: 'POST' as const,
        path: '/api/users/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: { email: a.email, password: storage.password } }),
      })),
      expectStatus: 200,
      minSeconds: 5,
      probe: { label: 'GET /api/tags while logins queue', requests: tags, connections: 5, overallRate: 100 },
    },
  ];
  return all;
}

/** The requests of the memory phase: every read scenario of the app, in turn (not the floods). */
export function memoryMix(all: readonly Scenario[]): RequestSpec[] {
  return all.filter((s) => s.target === 'app' && !s.probe).flatMap((s) => s.requests.slice(0, 4));
}

/** A result's errors other than the scenario's expected refusals. */
export function unexpectedErrors(s: Scenario, r: LoadResult): number {
  return r.errors - (s.refusals ?? []).reduce((n, code) => n + (r.statuses[String(code)] ?? 0), 0);
}
