import { parseArgs } from 'node:util';

// What one bench run does: which backends, how long each scenario runs, how much data is
// seeded. `--quick` (or BENCH_QUICK=1) is the short run for checking the machinery.

export type BenchBackend = 'sqlite' | 'postgres';

export interface BenchOptions {
  readonly backends: readonly BenchBackend[];
  /** Seconds each scenario runs (in total over the rounds). */
  readonly duration: number;
  /** Every scenario but the login one runs once per round, for duration / rounds seconds. */
  readonly rounds: number;
  /** Concurrent connections of the load generator (the budget is stated for 50). */
  readonly connections: number;
  readonly seedUsers: number;
  readonly seedArticles: number;
  /** Requests of the memory phase: sampled after the first, and after the whole amount. */
  readonly memoryRequests: readonly [number, number];
  /** Only these scenario ids (empty: all). */
  readonly only: readonly string[];
  /** Passed to the app's process as --cpu-prof, with the profile written into this directory. */
  readonly cpuProfDir: string | null;
  /** Progress lines go here (the table goes to stdout). */
  readonly log: (line: string) => void;
}

export const FULL: Omit<BenchOptions, 'log'> = {
  backends: ['sqlite', 'postgres'],
  duration: 10,
  rounds: 2,
  connections: 50,
  seedUsers: 1_000,
  seedArticles: 10_000,
  memoryRequests: [10_000, 100_000],
  only: [],
  cpuProfDir: null,
};

export const QUICK: Omit<BenchOptions, 'log'> = {
  ...FULL,
  duration: 2,
  rounds: 1,
  seedUsers: 200,
  seedArticles: 1_000,
  memoryRequests: [2_000, 10_000],
};

const USAGE = `usage: npm run bench -- [--quick] [--backend sqlite|postgres|all] [--duration S] [--rounds N] [--connections N]
                         [--users N] [--articles N] [--only id,id] [--cpu-prof DIR]`;

export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean' },
      backend: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      users: { type: 'string' },
      articles: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new UsageError(USAGE);
  const base = values.quick || env.BENCH_QUICK === '1' ? QUICK : FULL;
  const backend = values.backend ?? 'all';
  if (!['sqlite', 'postgres', 'all'].includes(backend)) throw new UsageError(USAGE);
  return {
    ...base,
    backends: backend === 'all' ? base.backends : [backend as BenchBackend],
    duration: positive(values.duration, base.duration, 'duration'),
    rounds: positive(values.rounds, base.rounds, 'rounds'),
    connections: positive(values.connections, base.connections, 'connections'),
    seedUsers: positive(values.users, base.seedUsers, 'users'),
    seedArticles: positive(values.articles, base.seedArticles, 'articles'),
    only: values.only
      ? values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
    cpuProfDir: values['cpu-prof'] ?? null,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

export class UsageError extends Error {}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1) throw new UsageError(`--${name} must be a whole number ≥ 1\n${USAGE}`);
  return Number(value);
}
