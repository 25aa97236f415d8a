import { readdir } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditFields } from '../audit/audit-log.js';
import { RouteRuleError } from '../http/route-rules.js';
import { migrateDatabase, type Runtime } from '../runtime.js';
import { clientKey } from '../security/client-key.js';
import { limitFactory, rateLimited, retryAfterSeconds, type Limit } from '../security/limit-store.js';
import type { AppRoutes } from '../faces/app-routes.js';
import { featureMigrations } from './feature-migrations.js';
import { FeatureError, type Feature, type FeatureContext, type FeatureLimit, type FeatureRoutes } from './define-feature.js';

// What createBastion does with `features: [...]`: checks they fit together, brings their tables
// up, and turns each one's routes into a face's AppRoutes with its limits and audit events wired
// to Bastion's. The feature's routes are registered by the face like any app's, so the route
// rules, the face's credential, CSRF and error shape apply to them unchanged.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A limit the route's feature declared (packages/bastion/src/features/define-feature.ts), counted before the handler. */
    limit?: string;
  }
}

/**
 * Applies the features' migrations unless the database has them all (one indexed read when
 * openRuntime was given the features too, or on any later start), on a connection of its own
 * without the request timeouts, as openRuntime does Bastion's. The app's own migrations,
 * applied before, are left as they are (packages/bastion/src/db/migrate.ts).
 */
export async function migrateFeatures(runtime: Runtime, features: readonly Feature[]): Promise<void> {
  const migrations = featureMigrations(features);
  const names = Object.keys(migrations(runtime.db));
  if (names.length === 0) return;
  const applied = await runtime.db.kysely
    .$extendTables<{ kysely_migration: { name: string } }>()
    .selectFrom('kysely_migration')
    .select('name')
    .where('name', 'in', names)
    .execute();
  if (applied.length === names.length) return;
  await migrateDatabase(runtime.config, runtime.db.schema, migrations);
}

/** The features' template directories; each may hold only a folder named after its feature, so none can replace Bastion's pages, the app's or another feature's. */
export async function featureViews(features: readonly Feature[]): Promise<string[]> {
  const roots: string[] = [];
  for (const feature of features) {
    if (feature.views === null) continue;
    const entries = await readdir(feature.views);
    const stray = entries.filter((entry) => entry !== feature.name);
    if (stray.length > 0)
      throw new FeatureError(`feature ${feature.name}: its views directory may hold only ${feature.name}/, not ${stray.join(', ')}`);
    roots.push(feature.views);
  }
  return roots;
}

/** The features' routes for the faces; their limits counted once for both faces (a bookmark from the page and one from the API are the same write). */
export function featureRoutes(app: FastifyInstance, runtime: Runtime, features: readonly Feature[]): Record<'api' | 'pages', AppRoutes[]> {
  const limit = limitFactory(runtime, app.log);
  const installed = features.map((feature) => {
    const counters = new Map<string, Counter>();
    for (const [local, rule] of feature.limits)
      counters.set(local, { rule, limit: limit({ name: rule.fullName, points: rule.points, duration: rule.duration }) });
    return { feature, counters, context: featureContext(app, runtime, feature) };
  });
  const forFace = (face: 'api' | 'pages'): AppRoutes[] =>
    installed.flatMap(({ feature, counters, context }) => {
      const routes = feature[face];
      return routes === null ? [] : [(scope: FastifyInstance) => installRoutes(app, scope, feature, counters, context, routes)];
    });
  return { api: forFace('api'), pages: forFace('pages') };
}

interface Counter {
  readonly rule: FeatureLimit & { readonly fullName: string };
  readonly limit: Limit;
}

function featureContext(app: FastifyInstance, runtime: Runtime, feature: Feature): FeatureContext<string> {
  const events = new Set<string>(feature.auditEvents);
  return {
    runtime,
    async audit(request: FastifyRequest, event: string, fields?: AuditFields) {
      const full = `${feature.name}:${event}` as const;
      // The types already allow only declared events; this keeps a cast from writing others.
      if (!events.has(full)) throw new FeatureError(`feature ${feature.name} declares no audit event '${event}'`);
      await app.audit(request, full, fields);
    },
  };
}

async function installRoutes(
  app: FastifyInstance,
  scope: FastifyInstance,
  feature: Feature,
  counters: ReadonlyMap<string, Counter>,
  context: FeatureContext<string>,
  routes: FeatureRoutes<string>,
): Promise<void> {
  // Checked as each route registers: a limit the feature did not declare stops the start.
  scope.addHook('onRoute', function checkFeatureLimit(route) {
    const wanted = route.config?.limit;
    if (wanted === undefined) return;
    const counter = counters.get(wanted);
    if (counter === undefined)
      throw new RouteRuleError(`${String(route.method)} ${route.url} is refused: feature ${feature.name} declares no limit '${wanted}'`);
    const countLimit = async function featureLimit(request: FastifyRequest): Promise<void> {
      // Per account when signed in (a token works from anywhere), else per client address.
      const key = request.user ? `user:${request.user.id}` : clientKey(request.ip);
      const used = await counter.limit.hit(key);
      if (used.count > counter.rule.points) {
        await app.auditOncePerMinute(request, 'ratelimit.hit', `${counter.rule.fullName}|${key}`, {
          details: { limit: counter.rule.fullName, retryAfter: retryAfterSeconds(used.msLeft) },
        });
        throw rateLimited(used.msLeft);
      }
    };
    route.preHandler = [countLimit, ...(route.preHandler === undefined ? [] : [route.preHandler].flat())];
  });
  await routes(scope, context);
}
