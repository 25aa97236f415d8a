import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Runtime } from './runtime.js';
import { createBastion, type BastionOptions } from './create-bastion.js';
import type { AppRoutes } from './faces/app-routes.js';
import { conduitApi } from './api/conduit-api.js';
import { conduitPages } from './pages/conduit/conduit-pages.js';
import { moderationPages } from './pages/admin/moderation-pages.js';
import { bookmarks } from './conduit/bookmarks/bookmarks.js';

// Conduit, composed on Bastion: its RealWorld API and its pages (feed, articles, editor,
// profiles, search, and the moderators' content page) handed to createBastion, which owns
// everything else. Its templates and migrations still live in Bastion's folders until the
// workspaces split (issue 18); an application of its own passes `views` and `migrations`. Its
// newer parts are features, each one module (src/conduit/bookmarks/).

export { BODY_LIMIT } from './create-bastion.js';

export interface AppOptions extends Pick<BastionOptions, 'logStream' | 'onRoute' | 'mailer' | 'now'> {
  /**
   * Routes added to a face (tests): registered inside that face's scope, so they get its
   * credential, CSRF defence, error shape and route rules.
   */
  readonly extraRoutes?: { readonly api?: FastifyPluginAsync; readonly pages?: FastifyPluginAsync };
}

/** Conduit's features: openRuntime is given them too (src/server.ts), so one migration run brings their tables up. */
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
    api: { prefix: '/api', routes: [conduitApi, ...plugin(extraRoutes?.api)] },
    pages: [conduitSitePages, ...plugin(extraRoutes?.pages)],
    features: conduitFeatures,
  });
}
