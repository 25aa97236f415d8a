import { parseArgs } from 'node:util';
import type { Finding } from '../config/deploy-checks.js';
import { ConfigError, formatFindings, hasErrors, loadConfig, type LoadedConfig } from '../config/load-config.js';
import { appFindings } from '../config/app-checks.js';
import type { BastionApp, CommandContext } from './bastion-app.js';
import type { Config } from '../config/config.js';
import type { AppMigrations } from '../db/migrate.js';

// Bastion's own commands, the same for every app: each reads the same validated configuration,
// and `check` and `start` judge it with one list, Bastion's deploy checks and then the app's.

/** What a command ends with: an exit code, or a server left running. */
export type Outcome = number | 'serving';

export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  run(args: readonly string[]): Promise<Outcome>;
}

export function load(): LoadedConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

const findingsOf = (app: BastionApp, loaded: LoadedConfig): Finding[] => [
  ...loaded.findings,
  ...appFindings(loaded.config, app.checks ?? []),
];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function bastionCommands(app: BastionApp): CliCommand[] {
  return [
    {
      name: 'start',
      usage: `serve ${app.name} (refuses to start insecurely in production)`,
      async run() {
        const loaded = load();
        const findings = findingsOf(app, loaded);
        const errors = findings.filter((f) => f.severity === 'error');
        if (loaded.config.isProduction && errors.length > 0) {
          process.stderr.write(`Bastion refuses to start in production:\n${formatFindings(errors)}\n`);
          return 1;
        }
        const notices = [...loaded.notices, ...findings.map((f) => `${f.id}: ${f.message}`)];
        const { RedisNamespaceTaken } = await import('../sessions/redis-namespace.js');
        try {
          const server = app.start
            ? await app.start(loaded.config, notices)
            : await (
                await import('../start-bastion.js')
              ).serveBastion(loaded.config, notices, { ...app.options, ...(await ownMigrations(app)) });
          server.app.log.info(`${app.name} is listening on ${server.address}`);
          return 'serving';
        } catch (err) {
          if (!(err instanceof RedisNamespaceTaken)) throw err;
          process.stderr.write(`Bastion refuses to start:\n${err.message}\n`);
          return 1;
        }
      },
    },
    {
      name: 'migrate',
      usage: 'bring the database schema up to date',
      async run() {
        const { config } = load();
        const { migrateDatabase } = await import('../runtime.js');
        const done = await migrateDatabase(config, undefined, await appMigrations(app));
        process.stdout.write(done.length ? `applied: ${done.join(', ')}\n` : 'database is up to date\n');
        return 0;
      },
    },
    {
      name: 'check',
      usage: 'print the deployment report; exit 1 on any error',
      async run() {
        const loaded = load();
        const findings = findingsOf(app, loaded);
        process.stdout.write(`Bastion deployment check (NODE_ENV=${loaded.config.nodeEnv})\n${formatFindings(findings)}\n`);
        return hasErrors(findings) ? 1 : 0;
      },
    },
    {
      name: 'create-admin',
      usage: '--username NAME --email ADDRESS  (password read from standard input)',
      async run(args) {
        const { values } = parseArgs({ args: [...args], options: { username: { type: 'string' }, email: { type: 'string' } } });
        if (!values.username || !values.email) {
          process.stderr.write('create-admin needs --username and --email; the password is read from standard input.\n');
          return 2;
        }
        const { config } = load();
        const { createAdmin } = await import('../accounts/create-admin.js');
        const password = await readStdin();
        const result = await createAdmin(config, { username: values.username, email: values.email, password }, await appMigrations(app));
        if (!result.ok) {
          process.stderr.write(
            `${Object.entries(result.errors)
              .map(([f, m]) => `${f} ${m.join(', ')}`)
              .join('\n')}\n`,
          );
          return 1;
        }
        process.stdout.write(`admin ${values.username} created\n`);
        return 0;
      },
    },
  ];
}

/** The app's own migrations (its features' come in through its options at `start`). */
async function ownMigrations(app: BastionApp): Promise<{ migrations?: AppMigrations }> {
  const migrations = (app.tables ? (await app.tables()).migrations : undefined) ?? app.migrations;
  return migrations ? { migrations } : {};
}

/** The app's migrations with its features' (theirs under their own names), as `start` runs them. */
/** An app command's context: its database migrated as `migrate` does, opened only if it asks. */
export function commandContext(app: BastionApp, config: Config): CommandContext {
  return {
    async openMigratedDatabase() {
      const [{ migrateDatabase }, { openDatabase }] = await Promise.all([import('../runtime.js'), import('../db/database.js')]);
      await migrateDatabase(config, undefined, await appMigrations(app));
      return openDatabase(config);
    },
  };
}

async function appMigrations(app: BastionApp): Promise<AppMigrations | undefined> {
  const lazy = app.tables ? await app.tables() : {};
  const migrations = lazy.migrations ?? app.migrations;
  const features = app.options?.features ?? lazy.features ?? app.features ?? [];
  if (features.length === 0) return migrations;
  const { withFeatureMigrations } = await import('../features/feature-migrations.js');
  return withFeatureMigrations(migrations, features);
}
