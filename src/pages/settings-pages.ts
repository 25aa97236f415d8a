import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EMAIL_MAX } from '../accounts/account-rules.js';
import { verifyPassword } from '../accounts/password-hasher.js';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';
import { updateUser } from '../conduit/users.js';
import { admitPasswordWork } from '../security/password-admission.js';

// /settings: the profile, the password, and the user's own sessions and API tokens with revoke.
// Every handler acts on request.user only — no form field can name another user.

const csrfField = { type: 'string', maxLength: 128 } as const;
const form = (properties: Record<string, object>, required: string[]) =>
  ({ type: 'object', additionalProperties: false, required, properties: { ...properties, _csrf: csrfField } }) as const;

const profileBody = form(
  { image: { type: 'string', maxLength: 2048 }, username: { type: 'string', maxLength: 64 }, bio: { type: 'string', maxLength: 1000 }, email: { type: 'string', maxLength: EMAIL_MAX } },
  ['image', 'username', 'bio', 'email'],
);
const passwordBody = form({ current_password: { type: 'string', maxLength: 1024 }, password: { type: 'string', maxLength: 1024 } }, ['current_password', 'password']);
const sessionBody = form({ session: { type: 'string', maxLength: 64 } }, ['session']);
const tokenBody = form({ token: { type: 'string', pattern: '^[0-9]{1,12}$' } }, ['token']);
const emptyBody = form({}, []);

const NOTICES = { profile: 'Your profile was saved.', password: 'Your password was changed; every other session and API token was signed out.', session: 'The session was revoked.', token: 'The API token was revoked.' } as const;
type Notice = keyof typeof NOTICES;
const settingsQuery = { type: 'object', additionalProperties: false, properties: { done: { type: 'string', enum: Object.keys(NOTICES) } } } as const;

interface ProfileBody { image: string; username: string; bio: string; email: string }
type FieldErrors = Readonly<Record<string, readonly string[]>>;
interface PasswordBody { current_password: string; password: string }

/** "29 Nov 2026, 10:15 UTC": the server has no idea of the reader's zone, so it says which. */
const readableTime = (iso: string): string =>
  `${new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' })} UTC`;

function validImage(image: string): boolean {
  if (image === '') return true;
  try {
    const url = new URL(image);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

export async function settingsPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const guarded = { config: { access: 'member' as const } };

  async function render(request: FastifyRequest, reply: FastifyReply, extra: { status?: number; notice?: string; profile?: ProfileBody; profileErrors?: FieldErrors; passwordErrors?: FieldErrors } = {}) {
    const user = request.member;
    const [sessions, tokens] = await Promise.all([app.sessions.list(request, user.id), app.apiTokens.list(user.id)]);
    return reply
      .header('cache-control', 'no-store')
      .code(extra.status ?? 200)
      .page('settings', {
        title: 'Settings',
        notice: extra.notice ?? null,
        profile: extra.profile ?? { image: user.image ?? '', username: user.username, bio: user.bio, email: user.email },
        profileErrors: extra.profileErrors ?? {},
        passwordErrors: extra.passwordErrors ?? {},
        sessions,
        tokens,
        when: readableTime,
      });
  }

  app.get<{ Querystring: { done?: Notice } }>('/settings', { ...guarded, schema: { querystring: settingsQuery } }, async (request, reply) => {
    const done = request.query.done;
    return render(request, reply, done ? { notice: NOTICES[done] } : {});
  });

  app.post<{ Body: ProfileBody }>('/settings', { ...guarded, schema: { body: profileBody } }, async (request, reply) => {
    // Profile and email changes: 10 an hour per account (SPEC §3, src/security/write-limits.ts).
    await app.writeLimit(request, 'profile');
    const user = request.member;
    const input = request.body;
    if (!validImage(input.image)) return render(request, reply, { status: 422, profile: input, profileErrors: { image: ['must be an http(s) URL'] } });
    try {
      // The same rules as PUT /api/user: names unique whatever their case, emails normalized.
      await updateUser(db, user.id, { username: input.username, email: input.email, bio: input.bio, image: input.image });
    } catch (err) {
      if (err instanceof AppError && err.code === 'VALIDATION' && err.fields) return render(request, reply, { status: 422, profile: input, profileErrors: err.fields });
      throw err;
    }
    return reply.redirect('/settings?done=profile', 303);
  });

  app.post<{ Body: PasswordBody }>('/settings/password', { ...guarded, schema: { body: passwordBody } }, (request, reply) =>
    // It verifies one password and hashes another: it waits its turn (src/security/password-admission.ts).
    admitPasswordWork(async () => {
      const user = request.member;
      // Guessing the current password from a stolen session is a login attempt like any other.
      await app.loginGuard.check(request, user.email);
      const row = await db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
      if (!(await verifyPassword(row.password_hash, request.body.current_password))) {
        await app.loginGuard.failed(request, user.email);
        return render(request, reply, { status: 422, passwordErrors: { current_password: ['is wrong'] } });
      }
      await app.loginGuard.succeeded(request, user.email);
      // Whoever else held a session or token (perhaps the reason for the change) is out: sessions
      // before the new password is written, tokens in its transaction. This browser stays in on a
      // fresh session id.
      let authVersion: number;
      try {
        ({ authVersion } = await updateUser(db, user.id, { password: request.body.password }, { beforePasswordChange: () => app.sessions.revokeAllForUser(user.id) }));
      } catch (err) {
        if (err instanceof AppError && err.code === 'VALIDATION' && err.fields) return render(request, reply, { status: 422, passwordErrors: err.fields });
        throw err;
      }
      await app.sessions.start(request, reply, user, authVersion);
      await app.audit(request, 'password.change');
      return reply.redirect('/settings?done=password', 303);
    }),
  );

  app.post<{ Body: { session: string } }>('/settings/sessions/revoke', { ...guarded, schema: { body: sessionBody } }, async (request, reply) => {
    const user = request.member;
    const wasCurrent = (await app.sessions.list(request, user.id)).some((s) => s.current && s.handle === request.body.session);
    if (!(await app.sessions.revoke(request, reply, user.id, request.body.session))) throw new AppError('NOT_FOUND');
    await app.audit(request, 'session.revoke', { actorId: user.id, actorName: user.username, details: { current: wasCurrent } });
    return reply.redirect(wasCurrent ? '/login' : '/settings?done=session', 303);
  });

  app.post<{ Body: { token: string } }>('/settings/tokens/revoke', { ...guarded, schema: { body: tokenBody } }, async (request, reply) => {
    const user = request.member;
    const tokenId = Number(request.body.token);
    if (!(await app.apiTokens.revoke(user.id, tokenId))) throw new AppError('NOT_FOUND');
    await app.audit(request, 'token.revoke', { details: { tokenId } });
    return reply.redirect('/settings?done=token', 303);
  });

  app.post('/settings/logout-everywhere', { ...guarded, schema: { body: emptyBody } }, async (request, reply) => {
    const user = request.member;
    await app.sessions.revokeAllForUser(user.id);
    await app.apiTokens.revokeAllForUser(user.id);
    await app.audit(request, 'session.revoke', { details: { scope: 'all' } });
    await app.audit(request, 'token.revoke', { details: { scope: 'all' } });
    await app.sessions.end(request, reply);
    return reply.redirect('/login', 303);
  });
}
