import { randomBytes } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PasskeyRefusal } from '../accounts/passkeys/passkeys.js';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';
import { deviceCookies } from '../security/device-cookies.js';
import { loadActiveUser } from '../sessions/session-user.js';
import { optionsBody, registerBody, removeBody, renameBody, signInBody } from './passkey-schemas.js';
import { safeNext } from './safe-next.js';

// Passkeys in the pages (SPEC §3 "second factor"). Adding one, and signing in with one, are
// WebAuthn ceremonies only JavaScript can run (packages/bastion/public/passkeys.js): those endpoints take JSON and
// answer JSON, and sit in the pages' scope, so the session cookie and the CSRF check (the token in
// the `_csrf` field, the Origin header) apply to them as to any form. Renaming and removing are
// plain forms. Adding and removing are marked `reauth` (sudo mode: a recent password or second
// factor, packages/bastion/src/auth/reauth.ts).
//  - Adding mails the address and is audited; so is removing, which also ends every other
//    session of the account (a thief's included) while this browser stays signed in.
//  - Password-less sign-in: the options' challenge is bound to a fresh HttpOnly cookie, used
//    once; the assertion counts against the per-IP login limits until it succeeds, and on
//    success the browser is signed in exactly as by a password.

/** The notices of /settings/security?done=…, for the page that shows the passkey section. */
export const PASSKEY_NOTICES = {
  'passkey-added': 'Your passkey was added.',
  'passkey-renamed': 'The passkey was renamed.',
  'passkey-removed': 'The passkey was removed; every other session and API token was ended.',
} as const;

const SIGN_IN_FAILED = 'That passkey could not sign you in.';
const REGISTER_FAILED: Readonly<Partial<Record<PasskeyRefusal, string>>> = {
  'no-challenge': 'The request expired; please try again.',
  duplicate: 'That passkey is already registered.',
  'too-many': 'You have as many passkeys as an account may have; remove one first.',
};

interface RegisterBody {
  name: string;
  credential: RegistrationResponseJSON;
}
interface SignInBody {
  credential: AuthenticationResponseJSON;
  next?: string;
}
interface RenameBody {
  passkey: string;
  name: string;
}
interface RemoveBody {
  passkey: string;
}

/** The cookie that binds an anonymous sign-in's challenge; lives as long as the challenge. */
const SIGN_IN_COOKIE_MAX_AGE = 5 * 60;
const SIGN_IN_COOKIE_VALUE = /^[\w-]{43}$/;

const noStore = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function passkeyPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const devices = deviceCookies(runtime.config, db);
  const member = { access: 'member' } as const;
  const memberReauth = { access: 'member', reauth: true } as const;
  const signInCookie = runtime.config.cookieSecure ? '__Host-passkey-sign-in' : 'passkey-sign-in';
  const cookieOptions = { path: '/', httpOnly: true, secure: runtime.config.cookieSecure, sameSite: 'strict' } as const;

  /** The session a member's ceremony is bound to: a member route always has one. */
  const sessionBinding = (request: FastifyRequest): string => {
    if (!request.session) throw new AppError('UNAUTHORIZED');
    return `session:${request.session.idHash}`;
  };

  // ------------------------------------------------------------ adding, renaming, removing

  app.post('/settings/passkeys/options', { config: memberReauth, schema: { body: optionsBody } }, async (request, reply) => {
    return noStore(reply).send(await app.passkeys.registrationOptions(request.member, sessionBinding(request)));
  });

  app.post<{ Body: RegisterBody }>(
    '/settings/passkeys',
    { config: memberReauth, schema: { body: registerBody } },
    async (request, reply) => {
      const user = request.member;
      const firstFactor = !(await app.twoFactor.required(user.id));
      const result = await app.passkeys.register(user, sessionBinding(request), request.body.credential, request.body.name);
      if (!result.ok) {
        await app.audit(request, 'passkey.failure', { details: { ceremony: 'register', reason: result.reason } });
        return noStore(reply)
          .code(422)
          .send({ message: REGISTER_FAILED[result.reason] ?? 'The passkey could not be verified.' });
      }
      // The account's first second factor: whatever signed in with the password alone (another
      // session, an API token) ends, as when an authenticator app is turned on.
      if (firstFactor) await app.twoFactor.endOtherSessions(request, reply);
      await app.audit(request, 'passkey.add', { details: { passkeyId: result.passkeyId, name: result.name } });
      app.mailer.send({ to: user.email, template: 'passkey-changed', data: passkeyMail(user.username, result.name, 'added') });
      return noStore(reply).send({ next: '/settings/security?done=passkey-added' });
    },
  );

  app.post<{ Body: RenameBody }>('/settings/passkeys/rename', { config: member, schema: { body: renameBody } }, async (request, reply) => {
    const passkeyId = Number(request.body.passkey);
    if (!(await app.passkeys.rename(request.member.id, passkeyId, request.body.name))) throw new AppError('NOT_FOUND');
    await app.audit(request, 'passkey.rename', { details: { passkeyId } });
    return reply.redirect('/settings/security?done=passkey-renamed', 303);
  });

  app.post<{ Body: RemoveBody }>(
    '/settings/passkeys/remove',
    { config: memberReauth, schema: { body: removeBody } },
    async (request, reply) => {
      const user = request.member;
      const passkeyId = Number(request.body.passkey);
      const name = await app.passkeys.remove(user.id, passkeyId);
      if (name === null) throw new AppError('NOT_FOUND');
      // Whoever might have signed in with it is signed out: every other session and every API
      // token ends, and this browser goes on in a new session (as for any change of a second factor).
      await app.twoFactor.endOtherSessions(request, reply);
      await app.audit(request, 'passkey.remove', { details: { passkeyId, name } });
      app.mailer.send({ to: user.email, template: 'passkey-changed', data: passkeyMail(user.username, name, 'removed') });
      return reply.redirect('/settings/security?done=passkey-removed', 303);
    },
  );

  // ------------------------------------------------------------ password-less sign-in

  app.post('/login/passkey/options', { config: { access: 'public' }, schema: { body: optionsBody } }, async (_request, reply) => {
    const binding = randomBytes(32).toString('base64url');
    reply.setCookie(signInCookie, binding, { ...cookieOptions, maxAge: SIGN_IN_COOKIE_MAX_AGE });
    return noStore(reply).send(await app.passkeys.signInOptions(`sign-in:${binding}`));
  });

  app.post<{ Body: SignInBody }>(
    '/login/passkey',
    { config: { access: 'public' }, schema: { body: signInBody } },
    async (request, reply) => {
      await app.loginGuard.checkClient(request);
      const binding = request.cookies[signInCookie];
      reply.clearCookie(signInCookie, cookieOptions);
      const refuse = async (reason: PasskeyRefusal | 'locked', userId: number | null) => {
        await app.audit(request, 'login.failure', { actorId: userId, details: { method: 'passkey', reason } });
        return noStore(reply).code(401).send({ message: SIGN_IN_FAILED });
      };
      if (binding === undefined || !SIGN_IN_COOKIE_VALUE.test(binding)) return refuse('no-challenge', null);
      const result = await app.passkeys.verifySignIn(`sign-in:${binding}`, request.body.credential);
      if (!result.ok) return refuse(result.reason, result.userId);
      const row = await db.selectFrom('users').select('auth_version').where('id', '=', result.userId).executeTakeFirst();
      const user = row ? await loadActiveUser(db, result.userId, row.auth_version) : null;
      if (!row || !user) return refuse('locked', result.userId);
      await app.loginGuard.clientSucceeded(request);
      await app.sessions.start(request, reply, user, row.auth_version);
      devices.issue(reply, user.id);
      await app.audit(request, 'login.success', {
        actorId: user.id,
        actorName: user.username,
        details: { method: 'passkey', passkeyId: result.passkeyId },
      });
      return noStore(reply).send({ next: safeNext(request.body.next) });
    },
  );
}

function passkeyMail(username: string, name: string, action: 'added' | 'removed'): Record<string, string> {
  return { username, name, action, at: new Date().toISOString().slice(0, 16).replace('T', ' ') };
}
