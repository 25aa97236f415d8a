import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Runtime } from './runtime.js';
import { createBastion, type BastionOptions } from './create-bastion.js';
import type { AppRoutes } from './faces/app-routes.js';
import { conduitApi } from './api/conduit-api.js';
import { conduitPages } from './pages/conduit/conduit-pages.js';
import { moderationPages } from './pages/admin/moderation-pages.js';
import { migrateToLatest } from './db/migrate.js';
import { conduitMigrations } from './conduit/migrations/conduit-migrations.js';

// Conduit, composed on Bastion: its RealWorld API and its pages (feed, articles, editor,
// profiles, search, and the moderators' content page) handed to createBastion, which owns
// everything else. Its tables come from its own migrations (src/conduit/migrations/), given to
// openRuntime by whatever opens Conduit's runtime; its templates still live in Bastion's folders
// until the workspaces split (issue 18).

export { BODY_LIMIT } from './create-bastion.js';
export { conduitMigrations };

export interface AppOptions extends Pick<BastionOptions, 'logStream' | 'onRoute' | 'mailer' | 'now'> {
  /**
   * Routes added to a face (tests): registered inside that face's scope, so they get its
   * credential, CSRF defence, error shape and route rules.
   */
  readonly extraRoutes?: { readonly api?: FastifyPluginAsync; readonly pages?: FastifyPluginAsync };
}

const plugin = (extra: FastifyPluginAsync | undefined): AppRoutes[] => (extra ? [async (scope) => void (await scope.register(extra))] : []);

const conduitSitePages: AppRoutes = async (pages, runtime) => {
  await pages.register(conduitPages, runtime);
  await pages.register(moderationPages, runtime);
};

/** Builds Conduit on an open runtime. Every layer of Bastion is on; none can be skipped. */
export async function buildApp(runtime: Runtime, options: AppOptions = {}): Promise<FastifyInstance> {
  const { extraRoutes, ...rest } = options;
  return createBastion(runtime, {
    ...rest,
    api: { prefix: '/api', routes: [conduitApi, ...plugin(extraRoutes?.api)] },
    pages: [conduitSitePages, ...plugin(extraRoutes?.pages)],
  });
}

/**
 * buildApp on a runtime opened without Conduit's migrations (the attack kit's isolated store, the
 * fuzzer's process): Conduit's tables are brought up first, as the guestbook's build does.
 */
export async function buildMigratedApp(runtime: Runtime, options: AppOptions = {}): Promise<FastifyInstance> {
  await migrateToLatest(runtime.db, conduitMigrations);
  return buildApp(runtime, options);
}
