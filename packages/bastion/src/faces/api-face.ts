import type { FastifyInstance } from 'fastify';
import { registerApiTokenAuth } from '../auth/api-token-auth.js';
import { auditForbiddenErrors } from '../auth/roles.js';
import { registerErrorFace } from '../http/error-handler.js';
import type { Runtime } from '../runtime.js';
import { registerApiCors } from '../api/cors.js';
import { requireResponseSchemas } from '../http/route-rules.js';
import { registerSecondFactorRequirementForTokens } from '../two-factor/require-second-factor.js';
import { registerAppRoutes, type AppRoutes } from './app-routes.js';

export interface ApiFaceOptions {
  readonly runtime: Runtime;
  /** Where the face lives; every route of it is under this path (not `prefix`: Fastify would apply that to this plugin itself). */
  readonly mount: string;
  /** The application's JSON routes (Conduit: the RealWorld API). */
  readonly routes: readonly AppRoutes[];
}

// The JSON API, in a scope of its own. What makes it the API is registered here and nowhere
// else: the bearer token as the only credential (no cookie parser, no session, no CSRF — SPEC
// §2), the JSON error shape and 404, and no-store on every answer. A request reaches these hooks
// only if the router matched a route (or the 404) of this scope, so a URL spelled to look
// otherwise (/%61pi/user) still gets exactly this face.
export async function apiFace(app: FastifyInstance, { runtime, mount, routes }: ApiFaceOptions): Promise<void> {
  await app.register(
    async function bastionApi(api) {
      // Before any route of the face: each one declares the schema its answer is serialized through.
      requireResponseSchemas(api);
      registerErrorFace(api, runtime.config, 'api');
      // CORS first: a refusal further on still carries the headers a browser needs to read it.
      await registerApiCors(api, runtime.config);
      registerApiTokenAuth(api);
      // REQUIRE_TWO_FACTOR_FOR holds on the API too: a listed role's token waits for a second factor.
      registerSecondFactorRequirementForTokens(api, runtime.config.requireTwoFactorFor);
      // Every answer carries bearer-authenticated data or could: no cache keeps any of it. onSend
      // also reaches refusals raised before this scope's hooks ran (a 429 from the root limiter).
      api.addHook('onSend', function noStore(_request, reply, payload, done) {
        reply.header('cache-control', 'no-store');
        done(null, payload);
      });
      // Every refusal of an authenticated caller on someone else's content is an audit event.
      auditForbiddenErrors(api);
      await registerAppRoutes(api, runtime, routes);
    },
    { prefix: mount },
  );
}
