import { parseArgs } from 'node:util';
import { ConfigError, formatFindings, hasErrors, loadConfig, type LoadedConfig } from './config/load-config.js';

// `bastion <command>`: start, migrate, check, create-admin, seed, rerender. Every command reads the same
// validated configuration; `start` refuses to run in production while any error stands.

const USAGE = `usage: bastion <command>

commands:
  start          serve Conduit (refuses to start insecurely in production)
  migrate        bring the database schema up to date
  check          print the deployment report; exit 1 on any error
  create-admin   --username NAME --email ADDRESS  (password read from standard input)
  seed           [--users N] [--articles N]  fill the database with demo data (not in production)
  rerender       [--all] [--batch N]  render stored article HTML again with this release's renderer
                 (after upgrading markdown-it or sanitize-html); exit 1 if some Markdown is refused
`;

function load(): LoadedConfig {
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

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const loaded = load();
      const errors = loaded.findings.filter((f) => f.severity === 'error');
      if (loaded.config.isProduction && errors.length > 0) {
        process.stderr.write(`Bastion refuses to start in production:\n${formatFindings(errors)}\n`);
        return 1;
      }
      const { startServer } = await import('./server.js');
      const { RedisNamespaceTaken } = await import('./sessions/redis-namespace.js');
      try {
        const server = await startServer(loaded.config, [...loaded.notices, ...loaded.findings.map((f) => `${f.id}: ${f.message}`)]);
        server.app.log.info(`Conduit is listening on ${server.address}`);
        return -1; // keep running
      } catch (err) {
        if (!(err instanceof RedisNamespaceTaken)) throw err;
        process.stderr.write(`Bastion refuses to start:\n${err.message}\n`);
        return 1;
      }
    }
    case 'migrate': {
      const { config } = load();
      const { migrateDatabase } = await import('./runtime.js');
      const { conduitMigrations } = await import('./conduit/migrations/conduit-migrations.js');
      const done = await migrateDatabase(config, undefined, conduitMigrations);
      process.stdout.write(done.length ? `applied: ${done.join(', ')}\n` : 'database is up to date\n');
      return 0;
    }
    case 'check': {
      const loaded = load();
      process.stdout.write(`Bastion deployment check (NODE_ENV=${loaded.config.nodeEnv})\n${formatFindings(loaded.findings)}\n`);
      return hasErrors(loaded.findings) ? 1 : 0;
    }
    case 'create-admin': {
      const { values } = parseArgs({ args: rest, options: { username: { type: 'string' }, email: { type: 'string' } } });
      if (!values.username || !values.email) {
        process.stderr.write('create-admin needs --username and --email; the password is read from standard input.\n');
        return 2;
      }
      const { config } = load();
      const { createAdmin } = await import('./accounts/create-admin.js');
      const { conduitMigrations } = await import('./conduit/migrations/conduit-migrations.js');
      const password = await readStdin();
      const result = await createAdmin(config, { username: values.username, email: values.email, password }, conduitMigrations);
      if (!result.ok) {
        process.stderr.write(`${Object.entries(result.errors).map(([f, m]) => `${f} ${m.join(', ')}`).join('\n')}\n`);
        return 1;
      }
      process.stdout.write(`admin ${values.username} created\n`);
      return 0;
    }
    case 'seed': {
      const { runSeedCommand } = await import('./seed/seed-command.js');
      return runSeedCommand(load().config, rest);
    }
    case 'rerender': {
      const { runRerenderCommand } = await import('./content/rerender-command.js');
      return runRerenderCommand(load().config, rest);
    }
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === '--help' ? 0 : 2;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
