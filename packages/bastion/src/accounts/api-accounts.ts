import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendConfirmation } from './account-mail.js';
import { checkCredentials, NEW_ACCOUNT_AUTH_VERSION, registerUser, type Registration, type UserChanges, type UserRecord } from './users.js';
import { typedIdentifier } from '../audit/audit-log.js';
import { changeOwnAccount } from '../auth/account-changes.js';
import { AppError } from '../http/app-error.js';
import { admitPasswordWork } from '../security/password-admission.js';
import type { Runtime } from '../runtime.js';
import type { Role } from '../db/schema.js';
import { SECOND_FACTOR_NEEDED } from '../two-factor/require-second-factor.js';

// Accounts as a JSON API's token clients see them: register, sign in for a token, read and change
// one's own account. The whole flow is Bastion's, so an app's API routes only route and shape
// JSON: the password queue, the limits, the second factor, the audit events, the confirmation
// mail and the auth version each token carries. Every refusal is an AppError the API face turns
// into JSON. The HTML face has flows of its own (packages/bastion/src/pages/): a page sign-up must
// not tell whether an address has an account, where the RealWorld API answers "has already been taken".

/** An account and a bearer token that speaks for it. */
export interface TokenAccount {
  readonly user: UserRecord;
  readonly token: string;
}

export interface TokenSignIn {
  readonly email: string;
  readonly password: string;
  /** The second factor's code (an authenticator's or a recovery code), for an account that has one. */
  readonly otp?: string;
}

export interface ApiAccounts {
  /**
   * Creates a member account (signed_up_via 'api'), mails its confirmation link and returns a
   * token for it. VALIDATION for a bad or taken username or email ("has already been taken":
   * the RealWorld API tells), RATE_LIMITED past the registration limit.
   */
  register(request: FastifyRequest, registration: Registration): Promise<TokenAccount>;
  /**
   * Checks the password (and the second factor, when the account has one) under the login
   * limits and returns a fresh token. UNAUTHORIZED with one answer for an unknown email, a
   * wrong password and a locked account; for an account with a second factor, "otp is
   * required" or "email, password or otp is invalid" instead. FORBIDDEN, with no token, for a
   * role REQUIRE_TWO_FACTOR_FOR lists when the account has no second factor yet.
   */
  signIn(request: FastifyRequest, signIn: TokenSignIn): Promise<TokenAccount>;
  /** The signed-in member and the token the request presented (401 when there is none). */
  current(request: FastifyRequest): TokenAccount;
  /**
   * Changes the signed-in member's own account (a new password or email needs
   * `currentPassword`). A new email is only requested: the answer keeps the old one until the
   * link mailed to the new address is followed. A password change logs out every other session
   * and token, and the answer carries a fresh token; otherwise the presented one.
   */
  changeOwn(request: FastifyRequest, changes: UserChanges): Promise<TokenAccount>;
}

declare module 'fastify' {
  interface FastifyInstance {
    apiAccounts: ApiAccounts;
  }
}

// One answer for an unknown email, a wrong password and a locked account alike.
const badCredentials = () => new AppError('UNAUTHORIZED', { 'email or password': ['is invalid'] });
// An account with a second factor: the answer says nothing about the password until the otp is
// given and right too (README "Two-factor sign-in": an outsider still learns the account has one).
const otpRequired = () => new AppError('UNAUTHORIZED', { otp: ['is required'] });
const badSecondFactor = () => new AppError('UNAUTHORIZED', { 'email, password or otp': ['is invalid'] });

// The scheme the API face authenticates (packages/bastion/src/auth/api-token-auth.ts).
const TOKEN_SCHEME = /^Token (\S{1,256})$/;

/** The token the caller authenticated with (already checked by the token layer). */
function presentedToken(request: FastifyRequest): string {
  const match = TOKEN_SCHEME.exec((request.headers.authorization ?? '').trim());
  if (!match) throw new AppError('UNAUTHORIZED');
  return match[1]!;
}

export function registerApiAccounts(app: FastifyInstance, runtime: Runtime): void {
  const db = runtime.db.kysely;
  const requiredRoles = new Set<Role>(runtime.config.requireTwoFactorFor);

  // Registration, login and a password change hash: each waits its turn, its limit checks and
  // writes included (packages/bastion/src/security/password-admission.ts).
  const register = (request: FastifyRequest, registration: Registration): Promise<TokenAccount> =>
    admitPasswordWork(async () => {
      await app.registrationLimit(request);
      // The RealWorld spec: "has already been taken" for a used address (the one place that tells;
      // README "Account mail"). The new account may write here at once (ACCOUNT_CONFIRMATION=html)
      // and is mailed a link all the same, which the pages (and ACCOUNT_CONFIRMATION=all) ask for.
      const user = await registerUser(db, registration);
      await sendConfirmation(app, runtime.config, user);
      await app.audit(request, 'register', { actorId: user.id, actorName: user.username });
      return { user, token: await app.apiTokens.issue(user.id, 'api', NEW_ACCOUNT_AUTH_VERSION) };
    });

  const signIn = (request: FastifyRequest, { email, password, otp }: TokenSignIn): Promise<TokenAccount> =>
    admitPasswordWork(async () => {
      const account = email.trim().toLowerCase();
      // Counted before the password is checked. No device cookie here: the API is for token
      // clients and reads no cookie, so a client kept out by the backoff signs in on the pages.
      await app.loginGuard.check(request, account);
      const result = await checkCredentials(db, email, password);
      // Asked for every login (id 0 for an unknown address), so it costs the same for all.
      const secondFactor = await app.twoFactor.required((result.ok ? result.user.id : result.userId) ?? 0);
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
      // REQUIRE_TWO_FACTOR_FOR: a listed role with no second factor yet gets no token (the API face
      // refuses one it already holds), so a password alone never buys that role's powers here.
      if (!secondFactor && requiredRoles.has(result.user.role)) {
        await app.audit(request, 'login.failure', {
          actorId: result.user.id,
          details: { reason: 'second-factor-setup', identifier: typedIdentifier(account), via: 'api' },
        });
        throw new AppError('FORBIDDEN', { 'second factor': [SECOND_FACTOR_NEEDED] });
      }
      await app.audit(request, 'login.success', {
        actorId: result.user.id,
        actorName: result.user.username,
        details: { via: 'api', ...(verdict ? { method: verdict.method } : {}) },
      });
      // The auth version the password check saw: a password change since makes this token dead on arrival.
      return { user: result.user, token: await app.apiTokens.issue(result.user.id, 'api', result.authVersion) };
    });

  // The token layer has just read this user (with the token, in one query): no second read.
  const current = (request: FastifyRequest): TokenAccount => ({ user: request.member, token: presentedToken(request) });

  async function change(request: FastifyRequest, changes: UserChanges): Promise<TokenAccount> {
    // Profile and email changes: 10 an hour per account (SPEC §3, packages/bastion/src/security/write-limits.ts).
    await app.writeLimit(request, 'profile');
    // Everyone else holding a session or token is logged out by a password change; the caller
    // gets a fresh token in the answer.
    const { user, passwordChanged, authVersion } = await changeOwnAccount(app, runtime, request, changes, 'api');
    if (!passwordChanged) return { user, token: presentedToken(request) };
    return { user, token: await app.apiTokens.issue(user.id, 'api', authVersion) };
  }

  app.decorate('apiAccounts', {
    register,
    signIn,
    current,
    // A new password or email needs the current password (SPEC §2); checking it, like hashing a
    // new password, waits its turn in the password queue. A change without either does not.
    changeOwn: (request, changes) =>
      changes.password === undefined && changes.currentPassword === undefined
        ? change(request, changes)
        : admitPasswordWork(() => change(request, changes)),
  } satisfies ApiAccounts);
}
