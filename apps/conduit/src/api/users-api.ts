import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  admitPasswordWork,
  AppError,
  changeOwnAccount,
  checkCredentials,
  NEW_ACCOUNT_AUTH_VERSION,
  registerUser,
  type Runtime,
  sendConfirmation,
  typedIdentifier,
} from 'bastion';
import { loginBody, noQuery, registerBody, updateUserBody } from './schemas.js';
import { userJson } from './serialize.js';

// POST /users, POST /users/login, GET|PUT /user.

interface RegisterBody {
  user: { username: string; email: string; password: string };
}
interface LoginBody {
  user: { email: string; password: string; otp?: string };
}
interface UpdateBody {
  user: { username?: string; email?: string; password?: string; currentPassword?: string; bio?: string | null; image?: string | null };
}

// One answer for an unknown email, a wrong password and a locked account alike.
const badCredentials = () => new AppError('UNAUTHORIZED', { 'email or password': ['is invalid'] });
// An account with a second factor: the answer says nothing about the password until the otp is
// given and right too (README "Two-factor sign-in": an outsider still learns the account has one).
const otpRequired = () => new AppError('UNAUTHORIZED', { otp: ['is required'] });
const badSecondFactor = () => new AppError('UNAUTHORIZED', { 'email, password or otp': ['is invalid'] });

/** The token the caller authenticated with (already checked by the token layer). */
function presentedToken(request: FastifyRequest): string {
  const match = /^Token (\S{1,256})$/.exec((request.headers.authorization ?? '').trim());
  if (!match) throw new AppError('UNAUTHORIZED');
  return match[1]!;
}

export async function usersApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;

  // Registration, login and a password change hash: they wait their turn (packages/bastion/src/security/password-admission.ts).
  app.post<{ Body: RegisterBody }>(
    '/users',
    { config: { access: 'public' }, schema: { body: registerBody, querystring: noQuery } },
    (request, reply) =>
      admitPasswordWork(async () => {
        await app.registrationLimit(request);
        // The RealWorld spec: "has already been taken" for a used address (the one place that tells;
        // README "Account mail"). The new account may write here at once (ACCOUNT_CONFIRMATION=html)
        // and is mailed a link all the same, which the pages (and ACCOUNT_CONFIRMATION=all) ask for.
        const user = await registerUser(db, request.body.user);
        await sendConfirmation(app, runtime.config, user);
        await app.audit(request, 'register', { actorId: user.id, actorName: user.username });
        const token = await app.apiTokens.issue(user.id, 'api', NEW_ACCOUNT_AUTH_VERSION);
        return reply.code(201).send({ user: userJson(user, token) });
      }),
  );

  app.post<{ Body: LoginBody }>(
    '/users/login',
    { config: { access: 'public' }, schema: { body: loginBody, querystring: noQuery } },
    (request) =>
      admitPasswordWork(async () => {
        const { email, password } = request.body.user;
        const account = email.trim().toLowerCase();
        // Counted before the password is checked. No device cookie here: the API is for token
        // clients and reads no cookie, so a client kept out by the backoff signs in on the pages.
        await app.loginGuard.check(request, account);
        const result = await checkCredentials(db, email, password);
        // Asked for every login (id 0 for an unknown address), so it costs the same for all.
        const secondFactor = await app.twoFactor.required((result.ok ? result.user.id : result.userId) ?? 0);
        const otp = request.body.user.otp;
        // The otp is checked (and spent) only with the right password: a guess at it costs a password guess.
        const verdict =
          result.ok && secondFactor && otp !== undefined && otp !== '' ? await app.twoFactor.verifyCode(request, result.user, otp) : null;
        if (!result.ok || (secondFactor && verdict === null)) {
          // Wrong password, or a missing or wrong otp: one failed attempt for the limits either way.
          await app.loginGuard.failed(request, account);
          const reason = !result.ok ? result.reason : otp ? 'otp' : 'otp-missing';
          await app.audit(request, 'login.failure', {
            actorId: result.ok ? result.user.id : result.userId,
            details: { reason, identifier: typedIdentifier(account), via: 'api' },
          });
          if (!secondFactor) throw badCredentials();
          throw otp ? badSecondFactor() : otpRequired();
        }
        await app.loginGuard.succeeded(request, account);
        await app.audit(request, 'login.success', {
          actorId: result.user.id,
          actorName: result.user.username,
          details: { via: 'api', ...(verdict ? { method: verdict.method } : {}) },
        });
        const token = await app.apiTokens.issue(result.user.id, 'api', result.authVersion);
        return { user: userJson(result.user, token) };
      }),
  );

  // The token layer has just read this user (with the token, in one query): no second read.
  app.get('/user', { config: { access: 'member' }, schema: { querystring: noQuery } }, async (request) => ({
    user: userJson(request.member, presentedToken(request)),
  }));

  // A new password or email needs user.currentPassword (SPEC §2); checking it, like hashing a
  // new password, waits its turn in the password queue.
  app.put<{ Body: UpdateBody }>(
    '/user',
    { config: { access: 'member' }, schema: { body: updateUserBody, querystring: noQuery } },
    (request) =>
      request.body.user.password === undefined && request.body.user.currentPassword === undefined
        ? updateProfile(request)
        : admitPasswordWork(() => updateProfile(request)),
  );

  async function updateProfile(request: FastifyRequest<{ Body: UpdateBody }>) {
    // Profile and email changes: 10 an hour per account (SPEC §3, packages/bastion/src/security/write-limits.ts).
    await app.writeLimit(request, 'profile');
    const { bio, ...rest } = request.body.user;
    // Everyone else holding a session or token is logged out by a password change; the caller
    // gets a fresh token in the answer.
    // A new email is only requested: the answer keeps the old one until the link mailed to the
    // new address is followed (README "Account mail").
    const { user, passwordChanged, authVersion } = await changeOwnAccount(
      app,
      runtime,
      request,
      { ...rest, ...(bio !== undefined ? { bio: bio ?? '' } : {}) },
      'api',
    );
    if (!passwordChanged) return { user: userJson(user, presentedToken(request)) };
    return { user: userJson(user, await app.apiTokens.issue(user.id, 'api', authVersion)) };
  }
}
