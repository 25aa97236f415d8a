import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EMAIL_MAX, normalizeEmail } from '../accounts/account-rules.js';
import { typedIdentifier } from '../audit/audit-log.js';
import { deviceCookies } from '../security/device-cookies.js';
import { admitPasswordWork } from '../security/password-admission.js';
import { checkSignUp, type SignUpRequest } from '../accounts/sign-up.js';
import { checkCredentials, type CredentialCheck } from '../accounts/users.js';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';
import { safeNext } from './safe-next.js';

// Login, registration and logout as HTML forms. Every POST here passed the CSRF layer first.
// A failed login says the same thing, with the same status and comparable time, whether the
// account is unknown, locked or the password wrong, so the form cannot be used to find accounts.

const LOGIN_FAILED = 'Email or password is invalid.';
const csrfField = { type: 'string', maxLength: 128 } as const;
// Generous bounds: the real rules are the password policy and the account rules.
const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'password'],
  properties: { email: { type: 'string', maxLength: EMAIL_MAX }, password: { type: 'string', maxLength: 1024 }, _csrf: csrfField },
} as const;
const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'email', 'password'],
  properties: {
    username: { type: 'string', maxLength: 64 },
    email: { type: 'string', maxLength: EMAIL_MAX },
    password: { type: 'string', maxLength: 1024 },
    _csrf: csrfField,
  },
} as const;
const nextQuery = { type: 'object', additionalProperties: false, properties: { next: { type: 'string', maxLength: 2048 } } } as const;

interface LoginBody {
  email: string;
  password: string;
}
interface RegisterBody {
  username: string;
  email: string;
  password: string;
}
interface NextQuery {
  next?: string;
}

const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function authPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const devices = deviceCookies(runtime.config, db);

  app.get<{ Querystring: NextQuery }>(
    '/login',
    { config: { access: 'public' }, schema: { querystring: nextQuery } },
    async (request, reply) => {
      return privatePage(reply).page('login', { title: 'Sign in', errors: [], email: '', next: safeNext(request.query.next) });
    },
  );

  app.post<{ Body: LoginBody; Querystring: NextQuery }>(
    '/login',
    { config: { access: 'public' }, schema: { body: loginBody, querystring: nextQuery } },
    (request, reply) =>
      admitPasswordWork(async () => {
        const email = normalizeEmail(request.body.email);
        const next = safeNext(request.query.next);
        // Counted before the password is checked; a browser that signed in to this account before
        // is let past the account's all-sources backoff (device cookies), never past the per-IP limits.
        await app.loginGuard.check(request, email, await devices.trustedFor(request, email));
        // The same check as the API: one argon2 verification whether or not the account exists.
        const result = await checkCredentials(db, email, request.body.password);
        // An account with a second factor answers the same way whether the password was right or
        // not: the half-login, then /login/two-factor (packages/bastion/src/pages/two-factor-pages.ts). The
        // question is asked for every login (id 0 for an unknown address) so it costs the same.
        const userId = result.ok ? result.user.id : result.userId;
        if (await app.twoFactor.required(userId ?? 0)) return secondStep(request, reply, email, next, result);
        if (!result.ok) {
          await app.loginGuard.failed(request, email);
          await app.audit(request, 'login.failure', {
            actorId: result.userId,
            details: { reason: result.reason, identifier: typedIdentifier(email) },
          });
          return privatePage(reply)
            .code(422)
            .page('login', { title: 'Sign in', errors: [LOGIN_FAILED], email: request.body.email, next });
        }
        await app.loginGuard.succeeded(request, email);
        await app.sessions.start(request, reply, result.user, result.authVersion);
        devices.issue(reply, result.user.id);
        await app.audit(request, 'login.success', { actorId: result.user.id, actorName: result.user.username });
        return reply.redirect(next, 303);
      }),
  );

  /**
   * The password step of an account with a second factor. Nothing here depends on the password
   * being right: the attempt stays counted as a failure (a right code clears the account's
   * consecutive count later; giving the attempt back now would say the password was right), the
   * challenge records the answer server-side, and the browser is sent to the code form either way.
   */
  async function secondStep(
    request: FastifyRequest,
    reply: FastifyReply,
    email: string,
    next: string,
    result: CredentialCheck,
  ): Promise<FastifyReply> {
    await app.loginGuard.failed(request, email);
    if (!result.ok)
      await app.audit(request, 'login.failure', {
        actorId: result.userId,
        details: { reason: result.reason, identifier: typedIdentifier(email), stage: 'password' },
      });
    const challenge = result.ok
      ? { userId: result.user.id, authVersion: result.authVersion, passwordOk: true, next }
      : { userId: result.userId!, authVersion: -1, passwordOk: false, next };
    await app.twoFactor.challenges.start(reply, challenge, app.twoFactor.now());
    return reply.redirect('/login/two-factor', 303);
  }

  app.get('/register', { config: { access: 'public' } }, async (_request, reply) => {
    return privatePage(reply).page('register', { title: 'Sign up', errors: {}, username: '', email: '' });
  });

  // Registration does not say whether the address already has an account (SPEC §3 "account
  // mail"): a new address gets an unconfirmed account and a confirmation link, a taken one a
  // mail to its owner ("someone tried to sign up with your address") and nothing else, and the
  // visitor sees the same 303 to the same "check your email" page either way, with the same
  // cookies, after the same work: the checks and the password's hash. What differs is done after
  // the answer (packages/bastion/src/accounts/sign-up.ts). That is why neither path signs anybody in: the taken
  // path cannot (the account is someone else's), so a fresh sign-up that did would give the
  // difference away at once. The new member signs in with their password, before or after
  // confirming (an unconfirmed account may sign in and read; writing waits for the link).
  // A taken username is still answered on the form: usernames are public on every profile.
  app.post<{ Body: RegisterBody }>('/register', { config: { access: 'public' }, schema: { body: registerBody } }, (request, reply) =>
    admitPasswordWork(async () => {
      await app.registrationLimit(request);
      const { username, email } = request.body;
      let signUp: SignUpRequest;
      try {
        signUp = await checkSignUp(db, request.body);
      } catch (err) {
        if (err instanceof AppError && err.code === 'VALIDATION' && err.fields) {
          return privatePage(reply).code(422).page('register', { title: 'Sign up', errors: err.fields, username, email });
        }
        throw err;
      }
      app.signUps.start(request, signUp);
      return reply.redirect('/register/check-email', 303);
    }),
  );

  app.post(
    '/logout',
    {
      config: { access: 'public', secondFactorSetup: true },
      schema: { body: { type: 'object', additionalProperties: false, properties: { _csrf: csrfField } } },
    },
    async (request, reply) => {
      if (request.user) await app.audit(request, 'logout');
      await app.sessions.end(request, reply);
      return reply.redirect('/', 303);
    },
  );
}
