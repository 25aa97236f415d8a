import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Migration } from 'kysely/migration';
import type { AuditFields, FeatureAuditEvent } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import type { Runtime } from '../runtime.js';

// A feature is one module that declares its tables, routes, templates, limits and audit events
// together (the shape of a Better Auth plugin), and createBastion merges it in: its migrations
// under its own name, its routes inside the face they belong to (so the route rules, the
// credential, CSRF and deny-by-default are the face's), its templates under its own folder, its
// limits counted in Bastion's limit store. Everything is checked here, once, when the module is
// loaded: a bad name or a clash is a programming error, found before any request.

/** Lower-case letters, digits and dashes, starting with a letter: it prefixes migration names, limits and events. */
const FEATURE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** A limit's or an event's own part, after the feature's name and a colon (the whole event fits audit_log.event, 64). */
const LOCAL_NAME = /^[a-z][a-z0-9.-]{0,30}$/;
/** `app:` is what an application's own migrations start with (packages/bastion/src/db/migrate.ts). */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['app', 'bastion']);

/** A limit of SPEC §3's kind: `points` requests per `duration` seconds, per signed-in account (per client address for anyone else). */
export interface FeatureLimit {
  readonly points: number;
  readonly duration: number;
}

/** What a feature's routes are given besides their scope. */
export interface FeatureContext<Events extends string> {
  readonly runtime: Runtime;
  /** Records one of the feature's declared events in Bastion's audit log (never a secret in `fields`). */
  audit(request: FastifyRequest, event: Events, fields?: AuditFields): Promise<void>;
}

/** A feature's routes for one face, registered in a scope of their own inside it. */
export type FeatureRoutes<Events extends string> = (scope: FastifyInstance, feature: FeatureContext<Events>) => Promise<void>;

export interface FeatureDefinition<Limits extends string, Events extends string> {
  /** Prefixes everything the feature declares: `bookmarks` → migrations `bookmarks:001-…`, limit `bookmarks:add`, event `bookmarks:clear`. */
  readonly name: string;
  /** The feature's tables, named without the prefix (`001-bookmarks`); never rename one that is released. */
  readonly migrations?: (db: Db) => Readonly<Record<string, Migration>>;
  /** JSON routes, under the API face's prefix: the bearer token is the only credential. */
  readonly api?: FeatureRoutes<Events>;
  /** HTML routes in the pages' face: cookie session, CSRF on every unsafe method. */
  readonly pages?: FeatureRoutes<Events>;
  /** A template directory holding one folder named after the feature (`views/bookmarks/…`): it cannot replace another's page. */
  readonly views?: string;
  /** Named limits; a route takes one with `config: { limit: '<name>' }` and is counted before its handler. */
  readonly limits?: Readonly<Record<Limits, FeatureLimit>>;
  /** The events the feature writes to the audit log. */
  readonly auditEvents?: readonly Events[];
}

/** A checked feature, as createBastion takes it in `features: [...]`. */
export interface Feature {
  readonly name: string;
  /** The migrations under their full names (`<name>:<own name>`). */
  readonly migrations: (db: Db) => Readonly<Record<string, Migration>>;
  readonly api: FeatureRoutes<string> | null;
  readonly pages: FeatureRoutes<string> | null;
  readonly views: string | null;
  /** Full limit names (`<name>:<limit>`) by the name a route's config uses. */
  readonly limits: ReadonlyMap<string, FeatureLimit & { readonly fullName: string }>;
  readonly auditEvents: readonly FeatureAuditEvent[];
}

export class FeatureError extends Error {
  override name = 'FeatureError';
}

function checkLimit(feature: string, name: string, limit: FeatureLimit): void {
  if (!LOCAL_NAME.test(name)) throw new FeatureError(`feature ${feature}: limit name '${name}' must match ${LOCAL_NAME}`);
  const whole = (n: number) => Number.isSafeInteger(n) && n > 0;
  if (!whole(limit.points) || !whole(limit.duration))
    throw new FeatureError(`feature ${feature}: limit '${name}' needs whole, positive points and duration (seconds)`);
}

/** Checks a feature's declarations and returns it in the form createBastion merges; throws FeatureError on any mistake. */
export function defineFeature<const Limits extends string = never, const Events extends string = never>(
  definition: FeatureDefinition<Limits, Events>,
): Feature {
  const { name } = definition;
  if (!FEATURE_NAME.test(name) || RESERVED_NAMES.has(name))
    throw new FeatureError(`feature name '${name}' must match ${FEATURE_NAME} and not be ${[...RESERVED_NAMES].join(' or ')}`);
  const limits = new Map<string, FeatureLimit & { fullName: string }>();
  for (const [local, limit] of Object.entries<FeatureLimit>(definition.limits ?? ({} as Record<Limits, FeatureLimit>))) {
    checkLimit(name, local, limit);
    limits.set(local, { points: limit.points, duration: limit.duration, fullName: `${name}:${local}` });
  }
  const events = definition.auditEvents ?? [];
  for (const event of events)
    if (!LOCAL_NAME.test(event)) throw new FeatureError(`feature ${name}: audit event '${event}' must match ${LOCAL_NAME}`);
  if (new Set(events).size !== events.length) throw new FeatureError(`feature ${name}: an audit event is declared twice`);
  const own = definition.migrations;
  return Object.freeze({
    name,
    // Prefixed here, so two features (or a feature and the app) can never claim the same name.
    migrations: (db: Db) =>
      Object.fromEntries(Object.entries(own ? own(db) : {}).map(([local, migration]) => [`${name}:${local}`, migration])),
    api: definition.api ?? null,
    pages: definition.pages ?? null,
    views: definition.views ?? null,
    limits,
    auditEvents: events.map((event): FeatureAuditEvent => `${name}:${event}`),
  });
}
