import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { registerErrorFace } from '../http/error-handler.js';
import type { Runtime } from '../runtime.js';
import type { PageSessionLayer } from '../sessions/sessions.js';
import { conduitPages } from './conduit/conduit-pages.js';
import { authPages } from './auth-pages.js';
import { reauthPages } from './reauth-pages.js';
import { settingsPages } from './settings-pages.js';
import { emailPages } from './email-pages.js';
import { passwordResetPages } from './password-reset-pages.js';
import { adminPages } from './admin/admin-pages.js';
import { twoFactorPages } from './two-factor-pages.js';
import { securityPages } from './security-pages.js';
import { registerSecondFactorRequirement } from '../two-factor/require-second-factor.js';
import { passkeyPages } from './passkey-pages.js';

export interface PageRoutesOptions {
  readonly runtime: Runtime;
  /** The cookie session and CSRF defence (src/sessions/sessions.ts), installed in this scope only. */
  readonly sessions: PageSessionLayer;
  /** More routes for this face (tests; an application built on Bastion). */
  readonly extra?: FastifyPluginAsync;
}

// Every server-rendered HTML page is registered from here, in one scope: the session cookie,
// the CSRF check and the HTML error pages exist in it and nowhere else. Its 404 covers every
// path outside /api that no route matches, so an unknown page still shows who is signed in.
export async function pageRoutes(app: FastifyInstance, { runtime, sessions, extra }: PageRoutesOptions): Promise<void> {
  registerErrorFace(app, runtime.config, 'page');
  await sessions(app);
  registerSecondFactorRequirement(app, runtime.config.requireTwoFactorFor);
  await app.register(conduitPages, runtime);
  await app.register(authPages, runtime);
  await app.register(reauthPages, runtime);
  await app.register(settingsPages, runtime);
  await app.register(emailPages, runtime);
  await app.register(passwordResetPages, runtime);
  await app.register(adminPages, runtime);
  await app.register(twoFactorPages, runtime);
  await app.register(securityPages, runtime);
  await app.register(passkeyPages, runtime);
  if (extra) await app.register(extra);
}
