import type { FastifyInstance, RouteOptions } from 'fastify';
import type { JsonSchema } from './fuzz/target-protocol.js';

// Every route the app registers, read as it registers (the app's onRoute option), so the kit
// attacks a route added tomorrow without anyone listing it. Besides method and URL it keeps
// what the route declared (its access, its schemas) and which face it belongs to: a route
// registered in a scope with the cookie session is the pages' face, which owes a CSRF check
// (packages/bastion/src/sessions/sessions.ts installs both together). The face is read from the scope, as the
// router decides it, never from how the URL is spelled.

export type Face = 'pages' | 'other';

export interface CataloguedRoute {
  readonly method: string;
  readonly url: string;
  /** What `config.access` declared; undefined for a vendor plugin's own routes (static files, the CORS preflight). */
  readonly access: string | undefined;
  readonly face: Face;
  /** The prefix of the scope it was registered in ('' at the root): that scope's 404 and errors answer below it. */
  readonly prefix: string;
  /** The JSON Schemas of its input, as plain data (they cross to the fuzzer's process). */
  readonly schema: { readonly params?: JsonSchema; readonly querystring?: JsonSchema; readonly body?: JsonSchema };
}

export interface RouteCatalogue {
  readonly routes: CataloguedRoute[];
  /** Pass as the app's onRoute option. A plain function: Fastify calls it with the registering scope as `this`. */
  readonly onRoute: (route: RouteOptions) => void;
}

export function routeCatalogue(): RouteCatalogue {
  const routes: CataloguedRoute[] = [];
  function onRoute(this: unknown, route: RouteOptions & { prefix?: string }): void {
    const scope = this as FastifyInstance | undefined;
    const face: Face = scope?.hasRequestDecorator('session') ? 'pages' : 'other';
    // JSON round trip: TypeBox's symbol keys and compiled bits stay behind, the JSON Schema goes.
    const schema = JSON.parse(
      JSON.stringify({ params: route.schema?.params, querystring: route.schema?.querystring, body: route.schema?.body }),
    ) as CataloguedRoute['schema'];
    const access = route.config?.access;
    for (const method of [route.method].flat()) {
      routes.push({
        method: String(method),
        url: route.url,
        access: typeof access === 'string' ? access : undefined,
        face,
        prefix: route.prefix ?? '',
        schema,
      });
    }
  }
  return { routes, onRoute };
}
