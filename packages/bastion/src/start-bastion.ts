import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { appFindings, type DeployCheck } from './config/app-checks.js';
import { formatFindings, loadConfig, type LoadOptions } from './config/load-config.js';
import { createBastion, type BastionOptions } from './create-bastion.js';
import { installCrashHandlers } from './crash-handlers.js';
import type { AppMigrations } from './db/migrate.js';
import { openRuntime, type Runtime } from './runtime.js';

// How an application built on Bastion starts in production: the same refusal `bastion start`
// makes (no production start while a deploy check finds an error), the application's migrations
// after Bastion's, then a drain on SIGTERM. Conduit's own start is apps/conduit/src/server.ts.

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

export async function startBastion(options: StartOptions = {}): Promise<StartedBastion> {
  const { checks = [], load, ...serve } = options;
  const loaded = loadConfig(load);
  const findings = [...loaded.findings, ...appFindings(loaded.config, checks)];
  const errors = findings.filter((f) => f.severity === 'error');
  if (loaded.config.isProduction && errors.length > 0)
    throw new StartRefused(`refusing to start in production:\n${formatFindings(errors)}`);
  return serveBastion(loaded.config, [...loaded.notices, ...findings.map((f) => `${f.id}: ${f.message}`)], serve);
}

/**
 * Opens the runtime (Bastion's migrations, then the app's), builds the app and listens, the
 * notices logged as warnings. Whoever calls it has loaded the configuration and made the
 * production refusal already: startBastion, and `runCli`'s `start`.
 */
export async function serveBastion(
  config: Config,
  notices: readonly string[],
  options: BastionOptions & Pick<StartOptions, 'migrations'>,
): Promise<StartedBastion> {
  const { migrations, ...bastion } = options;
  // The features' tables in the same migration run as the app's (createBastion would otherwise run them apart).
  const runtime = await openRuntime(config, { ...(migrations ? { migrations } : {}), features: bastion.features ?? [] });
  const app = await createBastion(runtime, bastion).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  for (const notice of notices) app.log.warn(notice);
  const address = await app.listen({ host: config.host, port: config.port });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await app.close();
      await runtime.close();
      removeCrashHandlers();
    })());
  const removeCrashHandlers = installCrashHandlers(app.log, stop);
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(
      signal,
      () =>
        void stop().then(
          () => process.exit(),
          () => process.exit(1),
        ),
    );
  return { app, runtime, address, stop };
}
