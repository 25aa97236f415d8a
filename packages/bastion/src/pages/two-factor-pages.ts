import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import { deviceCookies } from '../security/device-cookies.js';
import { loadActiveUser } from '../sessions/session-user.js';
import type { Runtime } from '../runtime.js';
import type { CodeVerdict } from '../two-factor/two-factor.js';
import type { Challenge } from '../two-factor/login-challenges.js';
import { optionsBody, signInBody } from './passkey-schemas.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';

// /login/two-factor: the second step of a sign-in, after the password step sent an account with a
// second factor here (packages/bastion/src/pages/auth-pages.ts). The form takes one `code`: the authenticator
// app's six digits or a recovery code. Each challenge is taken by the first answer, right or
// wrong: a wrong code sends the visitor back to the password, because saying "wrong code, try
// again" would say the password was right. The step is passed only if the password was right
// AND the code is, and only then does anything (the session, the device cookie, the audit's
// login.success) happen. How a code is checked is one function per method (packages/bastion/src/two-factor).
// A passkey is the other way through this step: packages/bastion/public/passkeys.js asks for options bound to the
// half-login (without taking it) and posts the passkey's answer as JSON, which takes the
// half-login exactly as a code does. The form for it is on the page for every account (hidden
// until the script runs), so the page does not say whether the account has a passkey.

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
  const backToLogin = (reply: FastifyReply, message: string) =>
    privatePage(reply)
      .code(422)
      .page('login', { title: 'Sign in', errors: [message], email: '', next: '/' });

  app.get('/login/two-factor', { config: { access: 'public' } }, async (request, reply) => {
    if (!(await app.twoFactor.challenges.live(request, app.twoFactor.now()))) return reply.redirect('/login', 303);
    return privatePage(reply).page('two-factor', { title: 'Two-factor sign-in' });
  });

  app.post<{ Body: { code: string } }>(
    '/login/two-factor',
    { config: { access: 'public' }, schema: { body: codeBody } },
    async (request, reply) => {
      const outcome = await secondStep(request, reply, (user) => app.twoFactor.verifyCode(request, user, request.body.code));
      return outcome.ok ? reply.redirect(outcome.next, 303) : backToLogin(reply, outcome.message);
    },
  );

  app.post('/login/two-factor/passkey/options', { config: { access: 'public' }, schema: { body: optionsBody } }, async (request, reply) => {
    const pending = await app.twoFactor.challenges.peek(request, app.twoFactor.now());
    if (pending === null) return privatePage(reply).code(422).send({ message: STEP_EXPIRED });
    return privatePage(reply).send(await app.passkeys.twoFactorOptions(pending.userId, pending.binding));
  });

  app.post<{ Body: { credential: AuthenticationResponseJSON } }>(
    '/login/two-factor/passkey',
    { config: { access: 'public' }, schema: { body: signInBody } },
    async (request, reply) => {
      // The binding is read before secondStep takes the half-login (and with it the cookie).
      const pending = await app.twoFactor.challenges.peek(request, app.twoFactor.now());
      const outcome = await secondStep(request, reply, async (user) => {
        if (pending === null || pending.userId !== user.id) return null;
        const result = await app.passkeys.verifyTwoFactor(user.id, pending.binding, request.body.credential);
        return result.ok ? { method: 'passkey' } : null;
      });
      return outcome.ok ? privatePage(reply).send({ next: outcome.next }) : privatePage(reply).code(422).send({ message: outcome.message });
    },
  );

  /**
   * Takes the request's half-login and, if its password was right and `check` passes, signs the
   * user in as a normal login does; the caller answers in its own form (a redirect, or JSON).
   */
  async function secondStep(
    request: FastifyRequest,
    reply: FastifyReply,
    check: SecondFactorCheck,
  ): Promise<{ ok: true; next: string } | { ok: false; message: string }> {
    const challenge: Challenge | null = await app.twoFactor.challenges.take(request, reply, app.twoFactor.now());
    if (challenge === null) return { ok: false, message: STEP_EXPIRED };
    // Locked since, or the password changed since (authVersion): no sign-in.
    const user = challenge.passwordOk ? await loadActiveUser(db, challenge.userId, challenge.authVersion) : null;
    const verdict = user ? await check(user) : null;
    if (user === null || verdict === null) {
      // The password step already counted this attempt as a failure; it is never given back.
      await app.audit(request, 'login.failure', {
        actorId: challenge.userId,
        details: { reason: challenge.passwordOk ? 'code' : 'password', stage: 'two-factor' },
      });
      return { ok: false, message: STEP_FAILED };
    }
    await app.loginGuard.succeeded(request, user.email);
    await app.sessions.start(request, reply, user, challenge.authVersion);
    devices.issue(reply, user.id);
    await app.audit(request, 'login.success', { actorId: user.id, actorName: user.username, details: { method: verdict.method } });
    // A recovery code was spent: the security page says how many are left.
    return { ok: true, next: verdict.method === 'recovery-code' ? '/settings/security?done=recovery-code' : challenge.next };
  }
}
