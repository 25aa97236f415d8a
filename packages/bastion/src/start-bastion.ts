import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.js';
import { appFindings, type DeployCheck } from './config/app-checks.js';
import { formatFindings, loadConfig, type LoadOptions } from './config/load-config.js';
import { createBastion, type BastionOptions } from './create-bastion.js';
import { preparePasswordStrength } from './accounts/password-strength.js';
import { installCrashHandlers } from './crash-handlers.js';
import type { AppMigrations } from './db/migrate.js';
import { openRuntime, type Runtime } from './runtime.js';

// How an application built on Bastion starts in production: the same refusal `bastion start`
// makes (no production start while a deploy check finds an error), the application's migrations
// after Bastion's, then a bounded drain on SIGTERM. Conduit's own start (apps/conduit/src/server.ts)
// builds its app itself and ends with listenBastion.

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
  return listenBastion(app, runtime, config);
}

/** How long a SIGTERM waits for requests in flight before exiting anyway (non-zero). */
export const DRAIN_DEADLINE_MS = 10_000;

/**
 * Makes an app built on `runtime` a production process: the password-strength estimator built
 * before the first registration needs it, then it listens; SIGTERM/SIGINT drain the requests in
 * flight (bounded by DRAIN_DEADLINE_MS) and close the pools, and an error nothing caught is
 * logged with its request and ends the process (packages/bastion/src/crash-handlers.ts).
 * serveBastion ends with it; an app with a start of its own (AppStart) calls it last.
 */
export async function listenBastion(app: FastifyInstance, runtime: Runtime, config: Config): Promise<StartedBastion> {
  preparePasswordStrength();
  const address = await app.listen({ host: config.host, port: config.port });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Stop accepting, let in-flight requests finish (bounded), then close the pools.
      const deadline = setTimeout(() => {
        app.log.error({ deadlineMs: DRAIN_DEADLINE_MS }, 'drain deadline passed with requests still open: exiting anyway');
        process.exit(1);
      }, DRAIN_DEADLINE_MS);
      deadline.unref();
      await app.close();
      await runtime.close();
      clearTimeout(deadline);
      removeCrashHandlers();
      app.log.info('shut down: requests drained, pools closed');
    })());
  // Installed once there is a stop to call; an error before this gets Node's own report and exit 1.
  const removeCrashHandlers = installCrashHandlers(app.log, stop);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down');
      // exit() without a code: 0, unless a crash during the drain has set process.exitCode.
      stop().then(
        () => process.exit(),
        () => process.exit(1),
      );
    });
  }
  return { app, runtime, address, stop };
}
