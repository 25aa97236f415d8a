import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import type { Finding } from './config/deploy-checks.js';
import { formatFindings, loadConfig, type LoadOptions } from './config/load-config.js';
import { createBastion, type BastionOptions } from './create-bastion.js';
import { installCrashHandlers } from './crash-handlers.js';
import type { AppMigrations } from './db/migrate.js';
import { openRuntime, type Runtime } from './runtime.js';

// How an application built on Bastion starts in production: the same refusal `bastion start`
// makes (no production start while a deploy check finds an error), the application's migrations
// after Bastion's, then a drain on SIGTERM. Conduit's own start is src/server.ts.

/** An application's deploy check: quiet unless its feature is misconfigured (Django's habit). */
export type DeployCheck = (config: Config) => readonly Finding[];

export interface StartOptions extends BastionOptions {
  readonly migrations?: AppMigrations;
  /** The application's deploy checks, reported beside Bastion's. Ids are the app's own: `bastion.*` is refused. */
  readonly checks?: readonly DeployCheck[];
  /** Where the configuration comes from (default: process.env and ./.env). */
  readonly load?: LoadOptions;
}

export interface StartedBastion {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly address: string;
  stop(): Promise<void>;
}

export class StartRefused extends Error {
  override name = 'StartRefused';
}

/** Bastion's findings and the application's; an app check that claims a `bastion.` id is a programming error. */
export function appFindings(config: Config, checks: readonly DeployCheck[]): Finding[] {
  const found = checks.flatMap((check) => check(config));
  const stolen = found.filter((f) => f.id.startsWith('bastion.'));
  if (stolen.length > 0) throw new Error(`deploy check ids under bastion.* are Bastion's: ${stolen.map((f) => f.id).join(', ')}`);
  return found;
}

export async function startBastion(options: StartOptions = {}): Promise<StartedBastion> {
  const { migrations, checks = [], load, ...bastion } = options;
  const loaded = loadConfig(load);
  const findings = [...loaded.findings, ...appFindings(loaded.config, checks)];
  const errors = findings.filter((f) => f.severity === 'error');
  if (loaded.config.isProduction && errors.length > 0) throw new StartRefused(`refusing to start in production:\n${formatFindings(errors)}`);
  // The features' tables in the same migration run as the app's (createBastion would otherwise run them apart).
  const runtime = await openRuntime(loaded.config, { ...(migrations ? { migrations } : {}), features: bastion.features ?? [] });
  const app = await createBastion(runtime, bastion).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  for (const notice of [...loaded.notices, ...findings.map((f) => `${f.id}: ${f.message}`)]) app.log.warn(notice);
  const address = await app.listen({ host: loaded.config.host, port: loaded.config.port });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await app.close();
      await runtime.close();
      removeCrashHandlers();
    })());
  const removeCrashHandlers = installCrashHandlers(app.log, stop);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop().then(() => process.exit(), () => process.exit(1)));
  return { app, runtime, address, stop };
}
