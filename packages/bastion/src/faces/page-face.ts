import type { FastifyInstance } from 'fastify';
import { registerErrorFace } from '../http/error-handler.js';
import type { Runtime } from '../runtime.js';
import type { PageSessionLayer } from '../sessions/sessions.js';
import { authPages } from '../pages/auth-pages.js';
import { reauthPages } from '../pages/reauth-pages.js';
import { settingsPages } from '../pages/settings-pages.js';
import { emailPages } from '../pages/email-pages.js';
import { passwordResetPages } from '../pages/password-reset-pages.js';
import { adminPages } from '../pages/admin/admin-pages.js';
import { twoFactorPages } from '../pages/two-factor-pages.js';
import { securityPages } from '../pages/security-pages.js';
import { registerSecondFactorRequirement } from '../two-factor/require-second-factor.js';
import { auditForbiddenErrors } from '../auth/roles.js';
import { passkeyPages } from '../pages/passkey-pages.js';
import { registerAppRoutes, type AppRoutes } from './app-routes.js';

export interface PageFaceOptions {
  readonly runtime: Runtime;
  /** The cookie session and CSRF defence (packages/bastion/src/sessions/sessions.ts), installed in this scope only. */
  readonly sessions: PageSessionLayer;
  /** The application's HTML pages (Conduit: feed, articles, editor …). */
  readonly routes: readonly AppRoutes[];
}

// Every server-rendered HTML page is registered from here, in one scope: the session cookie,
// the CSRF check and the HTML error pages exist in it and nowhere else. Bastion's own pages (the
// account, its security, the admin area) come first, then the application's, each in a child
// scope; its 404 covers every path outside the API, so an unknown page still shows who is
// signed in.
export async function pageFace(app: FastifyInstance, { runtime, sessions, routes }: PageFaceOptions): Promise<void> {
  registerErrorFace(app, runtime.config, 'page');
  await sessions(app);
  registerSecondFactorRequirement(app, runtime.config.requireTwoFactorFor);
  // Every refusal of a signed-in caller on someone else's content is an audit event, as on the API.
  auditForbiddenErrors(app);
  await app.register(authPages, runtime);
  await app.register(reauthPages, runtime);
  await app.register(settingsPages, runtime);
  await app.register(emailPages, runtime);
  await app.register(passwordResetPages, runtime);
  await app.register(adminPages, runtime);
  await app.register(twoFactorPages, runtime);
  await app.register(securityPages, runtime);
  await app.register(passkeyPages, runtime);
  await registerAppRoutes(app, runtime, routes);
}
