import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import type { Runtime } from '../runtime.js';
import { sealedBox } from '../security/sealed-box.js';
import { deriveEncryptionKeys } from '../sessions/derive-keys.js';
import { loginChallenges, type LoginChallenges } from './login-challenges.js';
import { looksLikeRecoveryCode, recoveryCodes, type RecoveryCodes } from './recovery-codes.js';
import { totpCredentials, type TotpCredentials } from './totp-credentials.js';

// The second factor (SPEC §3 "second factor"), for both faces: the authenticator app (TOTP), the
// recovery codes, the half-login that waits for them. A code typed at /login/two-factor or sent
// as the API's user.otp is tried by the method whose shape it has (CODE_METHODS: one function per
// method; passkeys are not typed codes and bring a route of their own, then finish the same way).
// Using a recovery code is audited and told to the owner by mail with the number left.

/** What proved the second factor; audited with login.success as `method`. */
export type SecondFactorMethod = 'totp' | 'recovery-code' | 'passkey';

export interface CodeVerdict {
  readonly method: SecondFactorMethod;
  /** Recovery codes left after this one (recovery codes only). */
  readonly remaining?: number;
}

interface CodeMethod {
  readonly id: SecondFactorMethod;
  /** Whether a typed value has this method's shape: checked before any database work. */
  accepts(code: string): boolean;
  /** Verifies and spends the code; null when it is wrong, already used or the user has no such factor. */
  verify(userId: number, code: string, now: number): Promise<Omit<CodeVerdict, 'method'> | null>;
}

export interface TwoFactor {
  readonly totp: TotpCredentials;
  readonly recovery: RecoveryCodes;
  readonly challenges: LoginChallenges;
  /** The clock every two-factor decision uses (AppOptions.now in tests). */
  now(): number;
  /** Whether the account has a second factor, so a password alone does not sign it in. */
  required(userId: number): Promise<boolean>;
  /** Tries a typed code as each method whose shape it has; spends it; audits and mails a recovery code's use. */
  verifyCode(request: FastifyRequest, user: Pick<AuthUser, 'id' | 'username' | 'email'>, code: string): Promise<CodeVerdict | null>;
  /** Removes every second factor of the user (turning it off; an admin's reset). */
  removeAll(userId: number): Promise<void>;
  /**
   * Ends every session of the signed-in user but this request's (it goes on under a fresh id) and
   * every API token: each was got under the second factor as it was, perhaps with none at all.
   */
  endOtherSessions(request: FastifyRequest, reply: FastifyReply): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    twoFactor: TwoFactor;
  }
}

/** "2026-12-05 19:53": the time in a notice mail, in UTC as the mail says. */
export const mailTime = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

export function registerTwoFactor(app: FastifyInstance, runtime: Runtime, options: { readonly now?: () => number } = {}): void {
  const db = runtime.db.kysely;
  const now = options.now ?? (() => Date.now());
  const totp = totpCredentials(db, sealedBox(deriveEncryptionKeys(runtime.config, 'totp-secret')));
  const recovery = recoveryCodes(db);

  const CODE_METHODS: readonly CodeMethod[] = [
    {
      id: 'totp',
      accepts: (code) => /^\d{6}$/.test(code),
      verify: async (userId, code, at) => ((await totp.verify(userId, code, at)) ? {} : null),
    },
    {
      id: 'recovery-code',
      accepts: looksLikeRecoveryCode,
      async verify(userId, code, at) {
        const remaining = await recovery.use(userId, code, at);
        return remaining === null ? null : { remaining };
      },
    },
  ];

  // Whether a user has each kind of second factor; any one makes the second step required.
  // (Recovery codes are not one: they back up a factor and go when the last factor goes.)
  // A passkey is one too: with a password, it is asked for at /login/two-factor (packages/bastion/src/pages/two-factor-pages.ts).
  const ENROLLED: ReadonlyArray<(userId: number) => Promise<boolean>> = [
    totp.enabled,
    async (userId) => (await app.passkeys.list(userId)).length > 0,
  ];

  app.decorate('twoFactor', {
    totp,
    recovery,
    challenges: loginChallenges(runtime.config, db),
    now,
    async required(userId: number) {
      for (const enrolled of ENROLLED) if (await enrolled(userId)) return true;
      return false;
    },
    async verifyCode(request: FastifyRequest, user: Pick<AuthUser, 'id' | 'username' | 'email'>, typed: string) {
      const code = typed.trim().replace(/\s/g, '');
      const at = now();
      for (const method of CODE_METHODS) {
        if (!method.accepts(code)) continue;
        const verdict = await method.verify(user.id, code, at);
        if (verdict === null) continue;
        if (method.id === 'recovery-code') {
          await app.audit(request, 'recovery-code.use', {
            actorId: user.id,
            actorName: user.username,
            details: { remaining: verdict.remaining ?? 0 },
          });
          app.mailer.send({
            to: user.email,
            template: 'recovery-code-used',
            data: { username: user.username, at: mailTime(at), remaining: String(verdict.remaining ?? 0) },
          });
        }
        return { method: method.id, ...verdict };
      }
      return null;
    },
    async removeAll(userId: number) {
      await totp.remove(userId);
      await recovery.removeAll(userId);
    },
    async endOtherSessions(request: FastifyRequest, reply: FastifyReply) {
      const user = request.member;
      const row = await db.selectFrom('users').select('auth_version').where('id', '=', user.id).executeTakeFirstOrThrow();
      await app.sessions.revokeAllForUser(user.id);
      await app.apiTokens.revokeAllForUser(user.id);
      await app.sessions.start(request, reply, user, row.auth_version);
    },
  } satisfies TwoFactor);
}
