import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BIO_MAX, IMAGE_MAX, isImageUrl, profileFieldSchemas } from '../accounts/profile-fields.js';
import { cancelEmailChange, isConfirmed, mayWrite } from '../accounts/account-mail.js';
import { changeOwnAccount } from '../auth/account-changes.js';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';
import { voidAllLogins } from '../accounts/users.js';
import { admitPasswordWork } from '../security/password-admission.js';

// /settings: the profile, the password, and the user's own sessions and API tokens with revoke.
// Every handler acts on request.member only — no form field can name another user.

const csrfField = { type: 'string', maxLength: 128 } as const;
const form = (properties: Record<string, object>, required: string[]) =>
  ({ type: 'object', additionalProperties: false, required, properties: { ...properties, _csrf: csrfField } }) as const;

// The API's field schemas (packages/bastion/src/accounts/profile-fields.ts). The picture URL is only bounded
// here and then checked against the same rule in the handler, so a mistyped URL comes back in
// the form with a message rather than as an error page.
const { username, email, bio, currentPassword, password } = profileFieldSchemas;
const profileBody = form({ image: { type: 'string', maxLength: IMAGE_MAX }, username, bio, email, currentPassword }, [
  'image',
  'username',
  'bio',
  'email',
]);
const passwordBody = form({ currentPassword, password: { ...password, minLength: 0 } }, ['currentPassword', 'password']);
const sessionBody = form({ session: { type: 'string', maxLength: 64 } }, ['session']);
const tokenBody = form({ token: { type: 'string', pattern: '^[0-9]{1,12}$' } }, ['token']);
const emptyBody = form({}, []);

const NOTICES = {
  profile: 'Your profile was saved.',
  'email-pending':
    'Your profile was saved. We sent a link to your new email address: your address changes when you follow it (within 24 hours). Until then it stays as it was.',
  'email-cancelled': 'The email change was cancelled: its link no longer works, and your address stays as it is.',
  resent: 'We sent a new confirmation link to your email address.',
  password: 'Your password was changed; every other session and API token was signed out.',
  session: 'The session was revoked.',
  token: 'The API token was revoked.',
} as const;
type Notice = keyof typeof NOTICES;
const settingsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { done: { type: 'string', enum: Object.keys(NOTICES) } },
} as const;

interface ProfileFields {
  image: string;
  username: string;
  bio: string;
  email: string;
}
interface ProfileBody extends ProfileFields {
  currentPassword?: string;
}
type FieldErrors = Readonly<Record<string, readonly string[]>>;
interface PasswordBody {
  currentPassword: string;
  password: string;
}

const FIELD_LABELS: Readonly<Record<string, string>> = {
  currentPassword: 'current password',
  password: 'new password',
  image: 'picture URL',
};
const fieldLabel = (field: string): string => FIELD_LABELS[field] ?? field;

/** "29 Nov 2026, 10:15 UTC": the server has no idea of the reader's zone, so it says which. */
const readableTime = (iso: string): string =>
  `${new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' })} UTC`;

export async function settingsPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const guarded = { config: { access: 'member' as const } };
  // A sensitive change with no password field of its own needs a recent proof of identity
  // (SPEC §3 "re-authentication", packages/bastion/src/auth/reauth.ts). The password and email forms ask for
  // the current password themselves: a correct one there is that proof (it is stamped, so the
  // owner is not asked twice), and a wrong one is a counted, audited failed login.
  const sensitive = { config: { access: 'member' as const, reauth: true } };

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { status?: number; notice?: string; profile?: ProfileFields; profileErrors?: FieldErrors; passwordErrors?: FieldErrors } = {},
  ) {
    const user = request.member;
    const [sessions, tokens, confirmed, writable, pendingEmail] = await Promise.all([
      app.sessions.list(request, user.id),
      app.apiTokens.list(user.id),
      isConfirmed(db, user.id),
      mayWrite(db, runtime.config, user.id),
      app.accountTokens.pending(user.id, 'email-change'),
    ]);
    return reply
      .header('cache-control', 'no-store')
      .code(extra.status ?? 200)
      .page('settings', {
        title: 'Settings',
        notice: extra.notice ?? null,
        confirmed,
        writable,
        // The address on file (the form below may show what was just typed instead).
        currentEmail: user.email,
        pendingEmail,
        profile: extra.profile ?? { image: user.image ?? '', username: user.username, bio: user.bio, email: user.email },
        profileErrors: extra.profileErrors ?? {},
        passwordErrors: extra.passwordErrors ?? {},
        fieldLabel,
        limits: { bio: BIO_MAX, image: IMAGE_MAX },
        sessions,
        tokens,
        when: readableTime,
      });
  }

  app.get<{ Querystring: { done?: Notice } }>(
    '/settings',
    { ...guarded, schema: { querystring: settingsQuery } },
    async (request, reply) => {
      const done = request.query.done;
      return render(request, reply, done ? { notice: NOTICES[done] } : {});
    },
  );

  // A new email needs the current password, like a new password (SPEC §2): a stolen session
  // alone cannot move the account to another address and reset it from there.
  // Checking the current password waits its turn in the password queue; a save without one does not.
  app.post<{ Body: ProfileBody }>('/settings', { ...guarded, schema: { body: profileBody } }, (request, reply) =>
    request.body.currentPassword ? admitPasswordWork(() => saveProfile(request, reply)) : saveProfile(request, reply),
  );

  async function saveProfile(request: FastifyRequest<{ Body: ProfileBody }>, reply: FastifyReply) {
    // Profile and email changes: 10 an hour per account (SPEC §3, packages/bastion/src/security/write-limits.ts).
    await app.writeLimit(request, 'profile');
    const { currentPassword: given, ...profile } = request.body;
    if (!isImageUrl(profile.image))
      return render(request, reply, { status: 422, profile, profileErrors: { image: ['must be an http(s) URL'] } });
    try {
      const { requestedEmail } = await changeOwnAccount(
        app,
        runtime,
        request,
        { ...profile, ...(given !== undefined ? { currentPassword: given } : {}) },
        'page',
      );
      if (requestedEmail !== null) return reply.redirect('/settings?done=email-pending', 303);
    } catch (err) {
      if (err instanceof AppError && err.code === 'VALIDATION' && err.fields)
        return render(request, reply, { status: 422, profile, profileErrors: err.fields });
      throw err;
    }
    return reply.redirect('/settings?done=profile', 303);
  }

  // Calls off a pending email change (its link dies); a stale button with nothing pending is no error.
  app.post('/settings/email/cancel', { ...guarded, schema: { body: emptyBody } }, async (request, reply) => {
    await cancelEmailChange(app, request, request.member);
    return reply.redirect('/settings?done=email-cancelled', 303);
  });

  app.post<{ Body: PasswordBody }>('/settings/password', { ...guarded, schema: { body: passwordBody } }, (request, reply) =>
    // It verifies one password and hashes another: it waits its turn (packages/bastion/src/security/password-admission.ts).
    admitPasswordWork(async () => {
      const user = request.member;
      // Every other session and token is logged out (perhaps the reason for the change); this
      // browser stays in on a fresh session id.
      let authVersion: number;
      try {
        ({ authVersion } = await changeOwnAccount(
          app,
          runtime,
          request,
          { password: request.body.password, currentPassword: request.body.currentPassword },
          'page',
        ));
      } catch (err) {
        if (err instanceof AppError && err.code === 'VALIDATION' && err.fields)
          return render(request, reply, { status: 422, passwordErrors: err.fields });
        throw err;
      }
      await app.sessions.start(request, reply, user, authVersion);
      return reply.redirect('/settings?done=password', 303);
    }),
  );

  app.post<{ Body: { session: string } }>(
    '/settings/sessions/revoke',
    { ...guarded, schema: { body: sessionBody } },
    async (request, reply) => {
      const user = request.member;
      const wasCurrent = (await app.sessions.list(request, user.id)).some((s) => s.current && s.handle === request.body.session);
      if (!(await app.sessions.revoke(request, reply, user.id, request.body.session))) throw new AppError('NOT_FOUND');
      await app.audit(request, 'session.revoke', { actorId: user.id, actorName: user.username, details: { current: wasCurrent } });
      return reply.redirect(wasCurrent ? '/login' : '/settings?done=session', 303);
    },
  );

  app.post<{ Body: { token: string } }>(
    '/settings/tokens/revoke',
    { ...sensitive, schema: { body: tokenBody } },
    async (request, reply) => {
      const user = request.member;
      const tokenId = Number(request.body.token);
      if (!(await app.apiTokens.revoke(user.id, tokenId))) throw new AppError('NOT_FOUND');
      await app.audit(request, 'token.revoke', { details: { tokenId } });
      return reply.redirect('/settings?done=token', 303);
    },
  );

  app.post('/settings/logout-everywhere', { ...guarded, schema: { body: emptyBody } }, async (request, reply) => {
    const user = request.member;
    // The new auth version ends every session and token at once, logins still in flight
    // included; the deletions after it only clean up.
    await voidAllLogins(db, user.id);
    await app.sessions.revokeAllForUser(user.id);
    await app.apiTokens.revokeAllForUser(user.id);
    await app.audit(request, 'session.revoke', { details: { scope: 'all' } });
    await app.audit(request, 'token.revoke', { details: { scope: 'all' } });
    await app.sessions.end(request, reply);
    return reply.redirect('/login', 303);
  });
}
