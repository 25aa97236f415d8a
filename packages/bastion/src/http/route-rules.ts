import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyPluginOptions, RouteOptions } from 'fastify';
import { ACCESS, accessGuard, isAccess } from '../auth/guards.js';
import { requireRecentProof } from '../auth/reauth.js';

// Every route is checked when it is registered, so a route that would take unchecked input or
// forget its guard never starts (STYLE: "a bad route value is refused when the route is
// registered, not when a request comes"). A route must declare:
//  - who may call it: `config: { access: 'public' | 'member' | 'moderator' | 'admin' }`; the
//    guard is installed from that declaration (packages/bastion/src/auth/guards.ts) as its first onRequest hook;
//  - a params schema naming each parameter of its path;
//  - a body schema if its method carries one (POST, PUT, PATCH, DELETE): `noBody` when it takes
//    none;
//  - on the API face only (the scope apiFace marks with requireResponseSchemas, so a route is
//    judged by the router scope it is in, never by its URL), a response schema for its success:
//    `schema.response` with a 2xx key (200, 201, '2xx'; `204: noContent` for an empty answer).
//    Fastify then serializes with fast-json-stringify, which sends only the declared properties:
//    a column added to a row later (a hash, an address) cannot reach a JSON answer. Pages render
//    HTML and are not asked.
// A route may also declare `reauth: true` (a sensitive change: packages/bastion/src/auth/reauth.ts): its guard
// comes right after the access guard. Only a signed-in caller can have proved who they are, and
// only the pages' session remembers that proof, so the declaration is refused on a public route
// and in any scope without the session (the API's routes ask for currentPassword instead).
// A route without a querystring schema gets an empty one: the query validator drops parameters a
// route does not know (packages/bastion/src/http/validation.ts), so such a handler sees `{}`, never raw input.
// All of this happens once, at registration; a request only runs the guard it was given.

/** The schema of a route that takes no body: nothing, or an empty JSON object. */
export const noBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;
/** The response schema of an answer without a body (`response: { 204: noContent }`): Fastify sends nothing for a 204. */
export const noContent = { type: 'null' } as const;
const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PATH_PARAM = /:(\w+)|\*/g;
/** A success status as Fastify's response schemas spell it: 200…299 or the range '2xx'. */
const SUCCESS_STATUS = /^2(?:\d\d|xx)$/;

/** Set on a scope while a vendor plugin registers its own routes (see registerVendorPlugin). */
const kVendorRoutes = Symbol('bastion.vendorRoutes');
/** Set on the API face's scope; the scopes registered inside it inherit it (Fastify makes each with Object.create). */
const kResponseSchemas = Symbol('bastion.responseSchemas');
type Scope = FastifyInstance & { [kVendorRoutes]?: true; [kResponseSchemas]?: true };

export class RouteRuleError extends Error {
  override name = 'RouteRuleError';
}

interface RouteSchema {
  params?: { properties?: Record<string, unknown> };
  body?: unknown;
  querystring?: unknown;
  response?: unknown;
}

/** What the route still has to declare (or must not); empty when it may be registered. */
function problemsOf(route: RouteOptions, scope: FastifyInstance): string[] {
  const problems: string[] = [];
  const access = route.config?.access;
  if (!isAccess(access)) problems.push(`who may call it: config: { access: ${ACCESS.map((a) => `'${a}'`).join(' | ')} }`);
  // Deny by default: a role the application did not declare (its `roles`) guards nothing.
  else if (access !== 'public' && !scope.roles.names.includes(access))
    problems.push(`an access of a role this application has (${scope.roles.names.join(', ')}), not '${access}'`);
  const reauth = route.config?.reauth;
  if (reauth !== undefined && typeof reauth !== 'boolean') problems.push('reauth as true or false');
  if (reauth === true && access === 'public')
    problems.push("an access of 'member' or higher for reauth: true (only a signed-in caller can prove who they are again)");
  if (reauth === true && !scope.hasRequestDecorator('session'))
    problems.push(
      "reauth: true only in the pages' scope, where a session remembers the proof (an API route asks for currentPassword in its body)",
    );
  const schema = (route.schema ?? {}) as RouteSchema;
  for (const [match, name] of route.url.matchAll(PATH_PARAM)) {
    const param = name ?? match;
    if (schema.params?.properties?.[param] === undefined) problems.push(`a params schema for its path parameter '${param}'`);
  }
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (schema.body === undefined && methods.some((m) => BODY_METHODS.has(m)))
    problems.push('a body schema (noBody from src/http/route-rules.ts if it takes none)');
  if ((scope as Scope)[kResponseSchemas] && !declaresSuccess(schema.response))
    problems.push('a response schema for its success: schema.response with a 2xx key (200, 201, or 204: noContent)');
  return problems;
}

function declaresSuccess(response: unknown): boolean {
  if (typeof response !== 'object' || response === null) return false;
  return Object.entries(response).some(([status, body]) => SUCCESS_STATUS.test(status) && typeof body === 'object' && body !== null);
}

/**
 * Every route registered in `scope`, or in any scope inside it, must declare the response schema
 * of its success (the API face: a JSON answer leaves only through its schema).
 */
export function requireResponseSchemas(scope: FastifyInstance): void {
  (scope as Scope)[kResponseSchemas] = true;
}

/** Adds the checks to `app`; register it before any route, so that every route passes them. */
export function registerRouteRules(app: FastifyInstance): void {
  app.addHook('onRoute', function checkRoute(this: Scope, route) {
    if (this[kVendorRoutes]) return;
    const problems = problemsOf(route, this);
    if (problems.length > 0) {
      const methods = Array.isArray(route.method) ? route.method.join('|') : route.method;
      throw new RouteRuleError(`${methods} ${route.url} is refused: it must declare ${problems.join('; ')}.`);
    }
    if ((route.schema as RouteSchema | undefined)?.querystring === undefined) route.schema = { ...route.schema, querystring: emptyQuery };
    const guards = [accessGuard(route.config!.access!), route.config!.reauth === true ? requireRecentProof : null].filter(
      (g) => g !== null,
    );
    if (guards.length > 0) route.onRequest = [...guards, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
  });
}

/**
 * Registers a well-kept plugin that adds routes of its own which cannot carry our declarations
 * (static files, the CORS preflight). Those routes are public and read their input themselves;
 * saying so here, where they are registered, keeps the exception in sight. Any other route in the
 * scope is checked as usual.
 */
export async function registerVendorPlugin<Options extends FastifyPluginOptions>(
  scope: FastifyInstance,
  plugin: FastifyPluginAsync<Options> | FastifyPluginCallback<Options>,
  options: Options,
): Promise<void> {
  const marked = scope as Scope;
  marked[kVendorRoutes] = true;
  try {
    await scope.register(plugin, options);
  } finally {
    delete marked[kVendorRoutes];
  }
}
