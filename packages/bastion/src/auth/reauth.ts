import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { AppError } from '../http/app-error.js';
import { safeNext } from '../pages/safe-next.js';

// Re-authentication, "sudo mode" (SPEC §3): a sensitive change (password, email, two-factor,
// passkeys, recovery codes, API tokens, roles) needs the owner to have proved who they are —
// the password, or a second factor — within the last 10 minutes, so a session left open on a
// shared computer, or stolen, cannot take the account over by itself.
// A route says so in its config: `config: { access: 'member', reauth: true }`. The route rules
// (packages/bastion/src/http/route-rules.ts) install requireRecentProof after the access guard, and refuse the
// declaration on a public route or outside the pages' face (a bearer token has no session to
// remember a proof in: the API asks for `currentPassword` in the request itself, PUT /api/user).
// The proof is remembered in the session (SessionRecord.authenticatedAt): set by every login
// (sessions.start) and by app.reauth.confirm, which /reauthenticate and the forms that already
// check the current password call.

export const REAUTH_WINDOW_MS = 10 * 60_000;

/** How an owner can prove who they are again; each has its step on /reauthenticate. */
export const REAUTH_METHODS = ['password', 'totp', 'recovery-code', 'passkey'] as const;
export type ReauthMethod = (typeof REAUTH_METHODS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs a proof of identity within REAUTH_WINDOW_MS (packages/bastion/src/auth/reauth.ts). */
    reauth?: boolean;
  }
  interface FastifyInstance {
    reauth: Reauth;
  }
}

export interface Reauth {
  /** Whether the request's session owner proved who they are within the window; false without a session. */
  isRecent(request: FastifyRequest): boolean;
  /** The owner has just proved who they are by `method`: stamps the session and audits it. */
  confirm(request: FastifyRequest, method: ReauthMethod): Promise<void>;
  /** A proof by `method` failed: audited (the caller counts it against the login limits). */
  failed(request: FastifyRequest, method: ReauthMethod): Promise<void>;
  /** Where a refused request is sent: /reauthenticate, coming back to a safe page of this site. */
  promptLocation(request: FastifyRequest): string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export interface ReauthOptions {
  /** The clock (epoch ms), the sessions' own; tests move it instead of sleeping. */
  readonly now?: () => number;
}

export function registerReauth(app: FastifyInstance, config: Config, options: ReauthOptions = {}): void {
  const now = options.now ?? (() => Date.now());

  /**
   * The page a refused form came from, to return to once the owner has confirmed: the Referer,
   * only when it is this very site (PUBLIC_ORIGIN), and then only its path, through safeNext.
   * The form's content is lost (it was never read): the page asks to submit it again.
   */
  const formPage = (request: FastifyRequest): string => {
    const referer = request.headers.referer;
    if (referer === undefined) return '/';
    let url: URL;
    try {
      url = new URL(referer);
    } catch {
      return '/';
    }
    return url.origin === config.publicOrigin ? safeNext(url.pathname + url.search) : '/';
  };

  app.decorate('reauth', {
    isRecent(request) {
      const session = request.session;
      if (!session || session.authenticatedAt <= 0) return false;
      return now() - session.authenticatedAt < REAUTH_WINDOW_MS;
    },
    async confirm(request, method) {
      if (!(await app.sessions.stampAuthenticated(request))) throw new AppError('UNAUTHORIZED');
      await app.audit(request, 'reauthenticate.success', { details: { method } });
    },
    async failed(request, method) {
      await app.audit(request, 'reauthenticate.failure', { details: { method } });
    },
    promptLocation(request) {
      if (SAFE_METHODS.has(request.method)) return `/reauthenticate?next=${encodeURIComponent(safeNext(request.url))}`;
      return `/reauthenticate?next=${encodeURIComponent(formPage(request))}&resubmit=1`;
    },
  } satisfies Reauth);
}

/**
 * The guard of a route declaring `reauth: true`, run after its access guard: a stale proof is
 * sent to /reauthenticate before the body is even read. Never a handler's choice, so none forgets.
 */
export function requireRecentProof(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
  const reauth = request.server.reauth;
  if (reauth.isRecent(request)) return done();
  request.log.info({ requestId: request.id, route: request.routeOptions.url }, 'recent proof of identity required');
  void reply.header('cache-control', 'no-store').redirect(reauth.promptLocation(request), 303);
}
