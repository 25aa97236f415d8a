import { parseArgs } from 'node:util';
import { type Config, openRuntime } from 'bastion';
import { conduitMigrations } from '../conduit/migrations/conduit-migrations.js';
import { progressBar } from './progress.js';
import { SEED_LIMITS, seedDatabase } from './seed.js';

// `bastion seed [--users N] [--articles N]`: demo data for the configured database. Refused in
// production, where fifty accounts nobody owns would be a gift to an attacker.

export const SEED_DEFAULTS = { users: 50, articles: 500 } as const;

function count(value: string | undefined, fallback: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,7}$/.test(value) || Number(value) > max) throw new RangeError(`--${name} must be a whole number from 0 to ${max}`);
  return Number(value);
}

export async function runSeedCommand(config: Config, args: string[], stderr: NodeJS.WriteStream = process.stderr): Promise<number> {
  if (config.isProduction) {
    stderr.write('seed refuses to run in production (NODE_ENV=production): demo accounts do not belong there.\n');
    return 1;
  }
  let users: number;
  let articles: number;
  try {
    const { values } = parseArgs({ args, options: { users: { type: 'string' }, articles: { type: 'string' } }, strict: true });
    users = count(values.users, SEED_DEFAULTS.users, SEED_LIMITS.users, 'users');
    articles = count(values.articles, SEED_DEFAULTS.articles, SEED_LIMITS.articles, 'articles');
    if (articles > 0 && users === 0) throw new RangeError('articles need authors: use --users 1 or more');
  } catch (err) {
    stderr.write(`${err instanceof Error ? err.message : String(err)}\nusage: bastion seed [--users N] [--articles N]\n`);
    return 2;
  }
  const runtime = await openRuntime(config, { migrations: conduitMigrations });
  try {
    const started = Date.now();
    const result = await seedDatabase(runtime.db, { users, articles, onProgress: progressBar(stderr) });
    stderr.write(
      `seeded ${result.users} users, ${result.articles} articles, ${result.comments} comments, ${result.favorites} favorites, ${result.follows} follows in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        'Seed users share one random password that was never shown: they exist to be read, not to log in.\n',
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
