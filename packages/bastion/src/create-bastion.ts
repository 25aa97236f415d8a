import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Runtime } from './runtime.js';
import { siteIdentity, type Site } from './config/site.js';
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
import { auditCatalogue, registerAudit } from './audit/audit-log.js';
import { defineRoles, type RoleOptions } from './auth/roles.js';
import { registerAdminTabs, type AdminTabOption } from './pages/admin/admin-tabs.js';
import { writeRules, type WriteLimitOption } from './security/write-limits.js';
import { registerRateLimits } from './security/rate-limits.js';
import { registerSessions } from './sessions/sessions.js';
import { registerReauth } from './auth/reauth.js';
import { registerAccountTokens } from './accounts/account-tokens.js';
import { registerApiAccounts } from './accounts/api-accounts.js';
import { registerApiTokens } from './auth/api-tokens.js';
import { registerPasswordResets } from './accounts/password-resets.js';
import { registerPasskeys } from './accounts/passkeys/passkeys.js';
import { registerSignUps } from './accounts/sign-up.js';
import { registerMailer, type MailerOverrides } from './mail/mail-plugin.js';
import { registerTwoFactor } from './two-factor/two-factor.js';
import { apiFace } from './faces/api-face.js';
import { pageFace } from './faces/page-face.js';
import type { AppRoutes } from './faces/app-routes.js';
import type { Feature } from './features/define-feature.js';
import { featureRoutes, featureViews, migrateFeatures } from './features/install-features.js';

/** What an application adds to Bastion. Everything else (the whole security layer) is Bastion's. */
export interface BastionOptions {
  /**
   * Who the application is to its users: `name` is in every page title, account mail, the
   * authenticator app's entry and the passkey prompt. Default: the neutral "Bastion app".
   */
  readonly site?: Partial<Site>;
  /**
   * The JSON API face: bearer token as the only credential, JSON errors, no-store, CORS, all
   * under `prefix` (default /api). Each entry registers its routes in a scope of its own.
   */
  readonly api?: { readonly prefix?: string; readonly routes: readonly AppRoutes[] };
  /** The HTML face: cookie session, CSRF on every unsafe method, HTML error pages. */
  readonly pages?: readonly AppRoutes[];
  /**
   * The application's template directories, layered over Bastion's (packages/bastion/src/http/views.ts): its
   * pages by their own names, and a layout.eta of its own that Bastion's pages use too.
   */
  readonly views?: readonly string[];
  /**
   * Features, each one module declaring its tables, routes, templates, limits and audit events
   * (defineFeature, packages/bastion/src/features/define-feature.ts): their tables are brought up here, their
   * routes go inside the faces after the app's own, their templates under the app's.
   */
  readonly features?: readonly Feature[];
  /**
   * The application's roles as data (packages/bastion/src/auth/roles.ts): its resources and actions, what a
   * member may do, and, if it has moderators, what they may do beyond that. Bastion owns the
   * admin's rights. Default: no grants of the app's, and no moderator role.
   */
  readonly roles?: RoleOptions;
  /** Tabs the application adds to the admin area for its own admin pages (Conduit: Content). */
  readonly adminTabs?: readonly AdminTabOption[];
  /** The application's own audit events (`'content.moderate'`), beside Bastion's. */
  readonly auditEvents?: readonly string[];
  /** The application's own per-account write limits (`{ comment: { points: 30, duration: 60 } }`), beside Bastion's profile limit. */
  readonly writeLimits?: Readonly<Record<string, WriteLimitOption>>;
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
// The package's public/, from src/ and from the built dist/ alike.
const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/**
 * Builds the whole security layer on an open runtime, with the application's routes inside its
 * two faces. Every layer is on and none can be skipped: the route rules are installed before
 * any route, so an application's route that does not declare its access and schemas refuses to
 * start, and the application only ever gets a scope inside a face, never the root.
 */
export async function createBastion(runtime: Runtime, options: BastionOptions = {}): Promise<FastifyInstance> {
  const { config } = runtime;
  const features = options.features ?? [];
  // Their declarations are checked before their tables are touched.
  const viewRoots = [...(options.views ?? []), ...(await featureViews(features))];
  await migrateFeatures(runtime, features);
  // The application's data is checked before anything is built: a bad name stops the start.
  const site = siteIdentity(options.site);
  const roles = defineRoles(options.roles);
  const auditEvents = auditCatalogue(options.auditEvents);
  const writeLimits = writeRules(options.writeLimits);
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
    // Draining is answered by packages/bastion/src/http/draining.ts, through our error handler.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 256 },
    // Router errors (bad percent-encoding, over-long params) get our headers and error shape.
    frameworkErrors: frameworkErrorHandler(config, site, viewRoots),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.decorate('roles', roles);
  // Before any route: every route, the plugins' and the application's included, is checked as it registers.
  registerRouteRules(app);
  if (options.onRoute) app.addHook('onRoute', options.onRoute);

  // The first onRequest hook: every other hook, the handler and the work they start run inside it.
  registerRequestContext(app);
  registerHttpsRedirect(app, config);
  registerSecurityHeaders(app, config);
  app.decorate('site', site);
  registerViews(app, config, site, viewRoots);
  registerBodyParsers(app);
  registerInputGuard(app);
  registerErrorHandling(app, config);
  registerDraining(app);

  registerCurrentUser(app);
  registerAdminTabs(app, options.adminTabs);
  // A feature's events were checked by defineFeature and carry its name (`bookmarks:…`).
  registerAudit(app, runtime, [...auditEvents, ...features.flatMap((feature) => feature.auditEvents)]);
  registerMailer(app, runtime, site, options.mailer);
  await registerRateLimits(app, runtime, writeLimits);
  // One clock for the sessions and the re-authentication window they remember.
  const clock = options.now ? { now: options.now } : {};
  const pageSessions = await registerSessions(app, runtime, clock);
  registerReauth(app, config, clock);
  await registerApiTokens(app, runtime);
  registerAccountTokens(app, runtime, clock);
  registerPasswordResets(app, runtime);
  registerPasskeys(app, runtime, { ...clock, rpName: site.name });
  registerSignUps(app, runtime);
  registerTwoFactor(app, runtime, clock);
  registerApiAccounts(app, runtime);

  await registerVendorPlugin(app, fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', index: false, dotfiles: 'deny', maxAge: '1h' });
  await app.register(healthRoutes, runtime);
  // The two faces, each in its own scope (SPEC §2): the API's token and JSON errors only under
  // its prefix, the pages' cookie session and CSRF only in the pages' scope. Which one a request
  // gets is the route the router matched, never how its URL is spelled.
  const fromFeatures = featureRoutes(app, runtime, features);
  await app.register(apiFace, {
    runtime,
    mount: options.api?.prefix ?? '/api',
    routes: [...(options.api?.routes ?? []), ...fromFeatures.api],
  });
  await app.register(pageFace, { runtime, sessions: pageSessions, routes: [...(options.pages ?? []), ...fromFeatures.pages] });
  return app;
}
