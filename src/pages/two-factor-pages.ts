import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import { deviceCookies } from '../security/device-cookies.js';
import { loadActiveUser } from '../sessions/session-user.js';
import type { Runtime } from '../runtime.js';
import type { CodeVerdict } from '../two-factor/two-factor.js';
import type { Challenge } from '../two-factor/login-challenges.js';

// /login/two-factor: the second step of a sign-in, after the password step sent an account with a
// second factor here (src/pages/auth-pages.ts). The form takes one `code`: the authenticator
// app's six digits or a recovery code. Each challenge is taken by the first answer, right or
// wrong: a wrong code sends the visitor back to the password, because saying "wrong code, try
// again" would say the password was right. The step is passed only if the password was right
// AND the code is, and only then does anything (the session, the device cookie, the audit's
// login.success) happen. How a code is checked is one function per method (src/two-factor);
// another method (a passkey) adds a route of its own that ends in passSecondStep too.

const STEP_FAILED = 'The email, password or code was wrong. Sign in again.';
const STEP_EXPIRED = 'Your sign-in took too long or was already finished. Sign in again.';
const codeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['code'],
  properties: { code: { type: 'string', maxLength: 64 }, _csrf: { type: 'string', maxLength: 128 } },
} as const;

/** A second factor's check for the user the challenge names: its verdict, or null when it failed. */
export type SecondFactorCheck = (user: AuthUser) => Promise<CodeVerdict | null>;

const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function twoFactorPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const devices = deviceCookies(runtime.config, db);
  const backToLogin = (reply: FastifyReply, message: string) => privatePage(reply).code(422).page('login', { title: 'Sign in', errors: [message], email: '', next: '/' });

  app.get('/login/two-factor', { config: { access: 'public' } }, async (request, reply) => {
    if (!(await app.twoFactor.challenges.live(request, app.twoFactor.now()))) return reply.redirect('/login', 303);
    return privatePage(reply).page('two-factor', { title: 'Two-factor sign-in' });
  });

  app.post<{ Body: { code: string } }>('/login/two-factor', { config: { access: 'public' }, schema: { body: codeBody } }, (request, reply) =>
    passSecondStep(request, reply, (user) => app.twoFactor.verifyCode(request, user, request.body.code)),
  );

  /**
   * Takes the request's challenge and, if its password was right and `check` passes, signs the
   * user in as a normal login does. Another method's route (a passkey's) calls it with its own check.
   */
  async function passSecondStep(request: FastifyRequest, reply: FastifyReply, check: SecondFactorCheck): Promise<FastifyReply> {
    const challenge: Challenge | null = await app.twoFactor.challenges.take(request, reply, app.twoFactor.now());
    if (challenge === null) return backToLogin(reply, STEP_EXPIRED);
    // Locked since, or the password changed since (authVersion): no sign-in.
    const user = challenge.passwordOk ? await loadActiveUser(db, challenge.userId, challenge.authVersion) : null;
    const verdict = user ? await check(user) : null;
    if (user === null || verdict === null) {
      // The password step already counted this attempt as a failure; it is never given back.
      await app.audit(request, 'login.failure', { actorId: challenge.userId, details: { reason: challenge.passwordOk ? 'code' : 'password', stage: 'two-factor' } });
      return backToLogin(reply, STEP_FAILED);
    }
    await app.loginGuard.succeeded(request, user.email);
    await app.sessions.start(request, reply, user, challenge.authVersion);
    devices.issue(reply, user.id);
    await app.audit(request, 'login.success', { actorId: user.id, actorName: user.username, details: { method: verdict.method } });
    // A recovery code was spent: the security page says how many are left.
    return reply.redirect(verdict.method === 'recovery-code' ? '/settings/security?done=recovery-code' : challenge.next, 303);
  }
}
