import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { type AppRoutes, type BastionOptions, createBastion, migrateToLatest, type Runtime } from 'bastion';
import { conduitApi } from './api/conduit-api.js';
import { conduitPages } from './pages/conduit/conduit-pages.js';
import { moderationPages } from './pages/admin/moderation-pages.js';
import { bookmarks } from './conduit/bookmarks/bookmarks.js';
import { CONDUIT_ROLES } from './conduit/roles.js';
import { CONDUIT_WRITE_LIMITS } from './conduit/write-limits.js';
import { conduitMigrations } from './conduit/migrations/conduit-migrations.js';

// Conduit, composed on Bastion: its RealWorld API and its pages (feed, articles, editor,
// profiles, search, and the moderators' content page) handed to createBastion, which owns
// everything else; its name, roles, admin tab, audit event and write limits as data. Its
// templates (apps/conduit/src/views/conduit/, its layout included) are a views root layered over Bastion's;
// its tables come from its own migrations (apps/conduit/src/conduit/migrations/), given to openRuntime by
// whatever opens Conduit's runtime. Its newer parts are features, each one module (apps/conduit/src/conduit/bookmarks/).

/** Conduit's templates: its pages, its layout (which Bastion's own pages wear too), its admin page. */
export const CONDUIT_VIEWS_DIR = fileURLToPath(new URL('../src/views/conduit/', import.meta.url));
/** The folder above it, where Conduit's pages are found by their `conduit/…` names. */
const CONDUIT_PAGES_DIR = fileURLToPath(new URL('../src/views/', import.meta.url));

/** What Conduit is to Bastion, beside its routes. */
export const CONDUIT = {
  site: { name: 'Conduit', writes: 'articles and comments', profilePath: '/profile/:username' },
  views: [CONDUIT_VIEWS_DIR, CONDUIT_PAGES_DIR],
  roles: CONDUIT_ROLES,
  adminTabs: [{ key: 'content', href: '/admin/content', label: 'Content', access: 'moderator' }],
  auditEvents: ['content.moderate'],
  writeLimits: CONDUIT_WRITE_LIMITS,
} as const satisfies BastionOptions;

export { BODY_LIMIT } from 'bastion';
export { conduitMigrations };

export interface AppOptions extends Pick<BastionOptions, 'logStream' | 'onRoute' | 'mailer' | 'now'> {
  /**
   * Routes added to a face (tests): registered inside that face's scope, so they get its
   * credential, CSRF defence, error shape and route rules.
   */
  readonly extraRoutes?: { readonly api?: FastifyPluginAsync; readonly pages?: FastifyPluginAsync };
}

/** Conduit's features: openRuntime is given them too (apps/conduit/src/server.ts), so one migration run brings their tables up. */
export const conduitFeatures = [bookmarks] as const;

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
    ...CONDUIT,
    api: { prefix: '/api', routes: [conduitApi, ...plugin(extraRoutes?.api)] },
    pages: [conduitSitePages, ...plugin(extraRoutes?.pages)],
    features: conduitFeatures,
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
