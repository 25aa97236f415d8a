import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import type { ReauthMethod } from '../auth/reauth.js';
import { checkCredentials } from '../accounts/users.js';
import type { Runtime } from '../runtime.js';
import { deviceCookies } from '../security/device-cookies.js';
import { admitPasswordWork } from '../security/password-admission.js';
import { safeNext } from './safe-next.js';
import { optionsBody, signInBody } from './passkey-schemas.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';

// /reauthenticate: "confirm your identity" before a sensitive change (packages/bastion/src/auth/reauth.ts). A
// route declaring `reauth: true` sends a stale session here with `next` (the page to return to,
// always through safeNext) and, for a refused form, `resubmit=1`.
// Every attempt is a login attempt to the login limits (counted first, per IP, per account+IP
// and per account, device cookies as at /login): a stolen session cannot guess the password
// here faster than at /login. Success and failure are audited with the method, never what was typed.
// Each way of proving identity is one step below, chosen by the form's `method` field (password
// by default); a step reads its own fields and says whether they prove the member's identity.
// A passkey is the one step that is not a form field: packages/bastion/public/passkeys.js asks for options bound to
// this session and posts the passkey's answer as JSON to /reauthenticate/passkey, which is
// counted, audited and stamped exactly as the form is.

interface ReauthBody {
  method?: ReauthMethod;
  password?: string;
  code?: string;
}
interface ReauthQuery {
  next?: string;
  resubmit?: '1';
}

/** One way to prove identity again: the fields its form sends, and their check (what proved it, or null). */
interface ReauthStep {
  readonly fields: Readonly<Record<string, object>>;
  verify(request: FastifyRequest<{ Body: ReauthBody }>, member: AuthUser): Promise<ReauthMethod | null>;
}

const WRONG = { password: 'The password is incorrect.', totp: 'That code is not valid.' } as const satisfies Partial<
  Record<ReauthMethod, string>
>;

const csrfField = { type: 'string', maxLength: 128 } as const;
const reauthQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { next: { type: 'string', maxLength: 2048 }, resubmit: { type: 'string', enum: ['1'] } },
} as const;

const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function reauthPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const devices = deviceCookies(runtime.config, db);

  const steps: Partial<Record<ReauthMethod, ReauthStep>> = {
    password: {
      fields: { password: { type: 'string', maxLength: 1024 } },
      async verify(request, member) {
        // The same check as a login (one argon2 verification), for this very account.
        const result = await checkCredentials(db, member.email, request.body.password ?? '');
        return result.ok && result.user.id === member.id ? 'password' : null;
      },
    },
    // A code from the authenticator app, or a recovery code (spent, audited and mailed as at sign-in).
    totp: {
      fields: { code: { type: 'string', maxLength: 64 } },
      async verify(request, member) {
        const verdict = await app.twoFactor.verifyCode(request, member, request.body.code ?? '');
        return verdict?.method ?? null;
      },
    },
  };
  const methods = Object.keys(steps) as ReauthMethod[];
  const reauthBody = {
    type: 'object',
    additionalProperties: false,
    properties: {
      method: { type: 'string', enum: methods },
      ...Object.assign({}, ...Object.values(steps).map((s) => s.fields)),
      _csrf: csrfField,
    },
  } as const;

  const form = async (request: FastifyRequest<{ Querystring: ReauthQuery }>, reply: FastifyReply, status: number, errors: string[]) =>
    privatePage(reply)
      .code(status)
      .page('reauthenticate', {
        title: 'Confirm your identity',
        errors,
        next: safeNext(request.query.next),
        resubmit: request.query.resubmit === '1',
        username: request.member.username,
        // A member with an authenticator app (or recovery codes left) may confirm with a code,
        // one with a passkey with that, instead of the password.
        hasCode: (await app.twoFactor.totp.enabled(request.member.id)) || (await app.twoFactor.recovery.remaining(request.member.id)) > 0,
        hasPasskey: (await app.passkeys.list(request.member.id)).length > 0,
      });

  // Reachable while an admin who must enrol a second factor has none yet (packages/bastion/src/two-factor/require-second-factor.ts).
  const member = { config: { access: 'member' as const, secondFactorSetup: true } };

  app.get<{ Querystring: ReauthQuery }>('/reauthenticate', { ...member, schema: { querystring: reauthQuery } }, async (request, reply) =>
    form(request, reply, 200, []),
  );

  /** Counted before the proof is checked, exactly as a login (packages/bastion/src/security/login-limits.ts); the outcome audited and, if good, stamped. */
  async function attempt(request: FastifyRequest, prove: () => Promise<ReauthMethod | null>, tried: ReauthMethod): Promise<boolean> {
    const user = request.member;
    await app.loginGuard.check(request, user.email, await devices.trustedFor(request, user.email));
    const proved = await prove();
    if (proved === null) {
      await app.loginGuard.failed(request, user.email);
      await app.reauth.failed(request, tried);
      return false;
    }
    await app.loginGuard.succeeded(request, user.email);
    await app.reauth.confirm(request, proved);
    return true;
  }

  const passkeyBinding = (request: FastifyRequest): string => `reauth:${request.session!.idHash}`;

  app.post('/reauthenticate/passkey/options', { ...member, schema: { body: optionsBody } }, async (request, reply) => {
    return privatePage(reply).send(await app.passkeys.twoFactorOptions(request.member.id, passkeyBinding(request)));
  });

  app.post<{ Body: { credential: AuthenticationResponseJSON; next?: string } }>(
    '/reauthenticate/passkey',
    { ...member, schema: { body: signInBody } },
    async (request, reply) => {
      const proved = await attempt(
        request,
        async () =>
          (await app.passkeys.verifyTwoFactor(request.member.id, passkeyBinding(request), request.body.credential)).ok ? 'passkey' : null,
        'passkey',
      );
      if (!proved) return privatePage(reply).code(422).send({ message: 'That passkey did not confirm your identity.' });
      return privatePage(reply).send({ next: safeNext(request.body.next) });
    },
  );

  app.post<{ Body: ReauthBody; Querystring: ReauthQuery }>(
    '/reauthenticate',
    { ...member, schema: { body: reauthBody, querystring: reauthQuery } },
    (request, reply) =>
      admitPasswordWork(async () => {
        const method = request.body.method ?? 'password';
        const step = steps[method]!;
        if (!(await attempt(request, () => step.verify(request, request.member), method))) {
          return form(request, reply, 422, [WRONG[method as keyof typeof WRONG] ?? 'That did not confirm your identity.']);
        }
        return reply.redirect(safeNext(request.query.next), 303);
      }),
  );
}
