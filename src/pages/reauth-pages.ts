import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/current-user.js';
import type { ReauthMethod } from '../auth/reauth.js';
import { checkCredentials } from '../conduit/users.js';
import type { Runtime } from '../runtime.js';
import { deviceCookies } from '../security/device-cookies.js';
import { admitPasswordWork } from '../security/password-admission.js';
import { safeNext } from './safe-next.js';

// /reauthenticate: "confirm your identity" before a sensitive change (src/auth/reauth.ts). A
// route declaring `reauth: true` sends a stale session here with `next` (the page to return to,
// always through safeNext) and, for a refused form, `resubmit=1`.
// Every attempt is a login attempt to the login limits (counted first, per IP, per account+IP
// and per account, device cookies as at /login): a stolen session cannot guess the password
// here faster than at /login. Success and failure are audited with the method, never what was typed.
// Each way of proving identity is one step below, chosen by the form's `method` field (password
// by default); a step reads its own fields and says whether they prove the member's identity.

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

const WRONG = { password: 'The password is incorrect.', totp: 'That code is not valid.' } as const satisfies Partial<Record<ReauthMethod, string>>;

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
    properties: { method: { type: 'string', enum: methods }, ...Object.assign({}, ...Object.values(steps).map((s) => s.fields)), _csrf: csrfField },
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
        // A member with a second factor may confirm with a code instead of the password.
        hasCode: await app.twoFactor.required(request.member.id),
      });

  // Reachable while an admin who must enrol a second factor has none yet (src/two-factor/require-second-factor.ts).
  const member = { config: { access: 'member' as const, secondFactorSetup: true } };

  app.get<{ Querystring: ReauthQuery }>('/reauthenticate', { ...member, schema: { querystring: reauthQuery } }, async (request, reply) => form(request, reply, 200, []));

  app.post<{ Body: ReauthBody; Querystring: ReauthQuery }>('/reauthenticate', { ...member, schema: { body: reauthBody, querystring: reauthQuery } }, (request, reply) =>
    admitPasswordWork(async () => {
      const user = request.member;
      const method = request.body.method ?? 'password';
      const step = steps[method]!;
      // Counted before the proof is checked, exactly as a login (src/security/login-limits.ts).
      await app.loginGuard.check(request, user.email, await devices.trustedFor(request, user.email));
      const proved = await step.verify(request, user);
      if (proved === null) {
        await app.loginGuard.failed(request, user.email);
        await app.reauth.failed(request, method);
        return form(request, reply, 422, [WRONG[method as keyof typeof WRONG] ?? 'That did not confirm your identity.']);
      }
      await app.loginGuard.succeeded(request, user.email);
      await app.reauth.confirm(request, proved);
      return reply.redirect(safeNext(request.query.next), 303);
    }),
  );
}
