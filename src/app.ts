import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Runtime } from './runtime.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { registerHttpsRedirect } from './http/https-redirect.js';
import { registerBodyParsers } from './http/body-parsers.js';
import { registerInputGuard } from './http/input-guard.js';
import { validatorCompiler } from './http/validation.js';
import { registerRouteRules, registerVendorPlugin } from './http/route-rules.js';
import { frameworkErrorHandler, registerErrorHandling } from './http/error-handler.js';
import { loggerOptions } from './http/logger.js';
import { AccessLogController } from './http/access-log.js';
import { registerViews } from './http/views.js';
import { trustProxyOption } from './http/trust-proxy.js';
import { registerDraining } from './http/draining.js';
import { registerRequestContext } from './http/request-context.js';
import { healthRoutes } from './routes/health.js';
import { registerCurrentUser } from './auth/current-user.js';
import { registerAudit } from './audit/audit-log.js';
import { registerRateLimits } from './security/rate-limits.js';
import { registerSessions } from './sessions/sessions.js';
import { registerReauth } from './auth/reauth.js';
import { registerAccountTokens } from './accounts/account-tokens.js';
import { registerApiTokens } from './auth/api-tokens.js';
import { apiRoutes, type ApiRoutesOptions } from './api/api-routes.js';
import { pageRoutes, type PageRoutesOptions } from './pages/page-routes.js';
import { registerPasswordResets } from './accounts/password-resets.js';
import { registerPasskeys } from './accounts/passkeys/passkeys.js';
import { registerSignUps } from './accounts/sign-up.js';
import { registerMailer, type MailerOverrides } from './mail/mail-plugin.js';
import { registerTwoFactor } from './two-factor/two-factor.js';

export interface AppOptions {
  /**
   * Routes added to a face (tests; an application built on Bastion): registered inside that
   * face's scope, so they get its credential, CSRF defence, error shape and route rules.
   */
  readonly extraRoutes?: { readonly api?: ApiRoutesOptions['extra']; readonly pages?: PageRoutesOptions['extra'] };
  /** Where pino writes (tests capture the log through this). Defaults to stdout. */
  readonly logStream?: Writable;
  /** Sees every route as it is registered, with its schema (the route fuzzer enumerates them). */
  readonly onRoute?: (route: RouteOptions) => void;
  /** Mailer settings beyond the configuration (tests: the test CA, a quick backoff, templates). */
  readonly mailer?: MailerOverrides;
  /** The clock of sessions, the re-authentication window, account tokens and the second factor's codes (tests move it instead of sleeping). */
  readonly now?: () => number;
}

export const BODY_LIMIT = 1024 * 1024;
// The package's public/, from src/app.ts and from the built dist/app.js alike.
const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/** Builds the whole application on an open runtime. Every layer is on; none can be skipped. */
export async function buildApp(runtime: Runtime, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = runtime;
  const app = Fastify({
    logger: loggerOptions(config, options.logStream),
    logController: new AccessLogController(),
    genReqId: () => randomUUID(),
    // A client-chosen request id would let anyone forge log lines; ours are always generated.
    requestIdHeader: false,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: BODY_LIMIT,
    // Slow clients (slowloris) are cut off instead of holding sockets forever.
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
    // Draining is answered by src/http/draining.ts, through our error handler.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 256 },
    // Router errors (bad percent-encoding, over-long params) get our headers and error shape.
    frameworkErrors: frameworkErrorHandler(config),
  });
  app.setValidatorCompiler(validatorCompiler);
  // Before any route: every route, the plugins' included, is checked as it registers.
  registerRouteRules(app);
  if (options.onRoute) app.addHook('onRoute', options.onRoute);

  // The first onRequest hook: every other hook, the handler and the work they start run inside it.
  registerRequestContext(app);
  registerHttpsRedirect(app, config);
  registerSecurityHeaders(app, config);
  registerViews(app, config);
  registerBodyParsers(app);
  registerInputGuard(app);
  registerErrorHandling(app, config);
  registerDraining(app);

  registerCurrentUser(app);
  registerAudit(app, runtime);
  registerMailer(app, runtime, options.mailer);
  await registerRateLimits(app, runtime);
  // One clock for the sessions and the re-authentication window they remember.
  const clock = options.now ? { now: options.now } : {};
  const pageSessions = await registerSessions(app, runtime, clock);
  registerReauth(app, config, clock);
  await registerApiTokens(app, runtime);
  registerAccountTokens(app, runtime, clock);
  registerPasswordResets(app, runtime);
  registerPasskeys(app, runtime, options.now ? { now: options.now } : {});
  registerSignUps(app, runtime);
  registerTwoFactor(app, runtime, options.now ? { now: options.now } : {});

  await registerVendorPlugin(app, fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', index: false, dotfiles: 'deny', maxAge: '1h' });
  await app.register(healthRoutes, runtime);
  // The two faces, each in its own scope (SPEC §2): the API's token and JSON errors only under
  // /api, the pages' cookie session and CSRF only in the pages' scope. Which one a request gets
  // is the route the router matched, never how its URL is spelled.
  await app.register(apiRoutes, { runtime, extra: options.extraRoutes?.api });
  await app.register(pageRoutes, { runtime, sessions: pageSessions, extra: options.extraRoutes?.pages });
  return app;
}
