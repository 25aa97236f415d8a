import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertCan, deny } from '../../auth/roles.js';
import type { Role } from '../../db/schema.js';
import { AppError } from '../../http/app-error.js';
import { clientGone } from '../../http/client-gone.js';
import type { Runtime } from '../../runtime.js';
import { paginate, pageRequest } from '../../http/paging.js';
import {
  backField,
  backWithNotice,
  buttonBody,
  csrfField,
  idParams,
  listHref,
  pageField,
  searchTermField,
  type ButtonBody,
  type IdParams,
} from './admin-schemas.js';
import { twoFactorChangedMail } from '../../two-factor/two-factor-mail.js';
import { findTarget, listUsers, setLocked, setRole, whileStillAdmin, type UserTarget } from './user-directory.js';
import { profileHref } from '../../config/site.js';

// /admin: the users, with a role form and a lock button on each row. Admins only. Acting on
// one's own account is refused by the role table's 'others' scope through assertCan, so the
// refusal is audited like any other. A role change or a lock ends every session of the user
// (their next request is anonymous); a lock also revokes their API tokens.

const NOTICES = {
  role: 'The role was changed; the user was signed out everywhere.',
  lock: 'The account was locked; its sessions and API tokens were revoked.',
  unlock: 'The account was unlocked; the user may sign in again.',
  unchanged: 'Nothing changed.',
  reset: "A password reset mail was queued for the user's address. Nobody, an admin included, sees or sets the password.",
  'reset-locked': 'The account is locked: no reset mail was sent. Unlock it first.',
  'reset-failed': 'The reset mail could not be queued (mail is off or the queue is full); see Mail failures.',
  'two-factor-reset':
    "The user's authenticator app, recovery codes and passkeys were removed, their sessions and API tokens ended, and the user was told by mail: the account signs in with its password alone until its owner sets two-factor sign-in up again.",
  'two-factor-none': 'The account has no second factor to reset.',
} as const;
type Notice = keyof typeof NOTICES;

// The roles offered and accepted are the ones this application has (its `roles`): a moderator
// role it did not declare cannot be given.
const usersQuery = (roles: readonly Role[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      q: searchTermField,
      role: { type: 'string', enum: ['', ...roles], default: '' },
      page: pageField,
      done: { type: 'string', enum: Object.keys(NOTICES) },
    },
  }) as const;
interface UsersQuery {
  q: string;
  role: Role | '';
  page: number;
  done?: Notice;
}

const roleBody = (roles: readonly Role[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['role'],
    properties: { role: { type: 'string', enum: roles }, _csrf: csrfField, back: backField },
  }) as const;
interface RoleBody {
  role: Role;
  back?: string;
}

export async function userAdminPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const { roles } = app;
  const adminOnly = { config: { access: 'admin' as const } };
  // Changing who holds which rights needs the admin's recent proof of identity (SPEC §3
  // "re-authentication"): a stolen admin session alone cannot promote or lock anyone.
  const sensitive = { config: { access: 'admin' as const, reauth: true } };

  /** The account named in the path, once the caller may act on it (else 403, audited). */
  async function target(request: FastifyRequest, action: 'user:set-role' | 'user:lock', id: number): Promise<UserTarget> {
    await assertCan(request, action, { userId: id });
    const found = await findTarget(db, id);
    if (!found) throw new AppError('NOT_FOUND');
    return found;
  }

  /** Writes `change` only if the caller is still an unlocked admin by then; 403 (audited) if not. */
  async function asStillAdmin<T>(request: FastifyRequest, targetId: number, change: (trx: typeof db) => Promise<T>): Promise<T> {
    const done = await whileStillAdmin(db, { actorId: request.member.id, targetId }, change);
    return done ? done.value : deny(request, { need: 'admin', when: 'written' });
  }

  app.get<{ Querystring: UsersQuery }>(
    '/admin',
    { ...adminOnly, schema: { querystring: usersQuery(roles.names) } },
    async function usersPage(request, reply) {
      const user = request.member;
      const { q, role, page, done } = request.query;
      const filter = { q, ...(role === '' ? {} : { role }) };
      const list = await app.clientScan(request, () => listUsers(runtime.db, filter, pageRequest(page), clientGone(reply)));
      return reply.header('cache-control', 'no-store').page('admin/users', {
        title: 'Admin: users',
        tabs: app.adminTabs(user, 'users'),
        notice: done ? NOTICES[done] : null,
        q,
        role,
        roles: roles.names,
        users: list.items.map((u) => ({
          ...u,
          self: u.id === user.id,
          profileHref: profileHref(app.site, u.username),
          manageable: roles.authorize(user, 'user:set-role', { userId: u.id }) && roles.authorize(user, 'user:lock', { userId: u.id }),
        })),
        total: list.total,
        pagination: paginate('/admin', page, list.total, { q, role }),
        back: listHref('/admin', { q, role, page }),
      });
    },
  );

  app.post<{ Params: IdParams; Body: RoleBody }>(
    '/admin/users/:id/role',
    { ...sensitive, schema: { params: idParams, body: roleBody(roles.names) } },
    async function changeRole(request, reply) {
      const account = await target(request, 'user:set-role', request.params.id);
      const to = request.body.role;
      if (!(await asStillAdmin(request, account.id, (trx) => setRole(trx, account.id, to))))
        return reply.redirect(backWithNotice(request.body.back, '/admin', 'unchanged'), 303);
      // New rights (or fewer) start from a fresh login: every session of the user is gone.
      await app.sessions.revokeAllForUser(account.id);
      await app.audit(request, 'role.change', { details: { targetId: account.id, target: account.username, from: account.role, to } });
      return reply.redirect(backWithNotice(request.body.back, '/admin', 'role'), 303);
    },
  );

  app.post<{ Params: IdParams; Body: ButtonBody }>(
    '/admin/users/:id/lock',
    { ...sensitive, schema: { params: idParams, body: buttonBody } },
    async function lock(request, reply) {
      const account = await target(request, 'user:lock', request.params.id);
      // Locked first, then revoked: no new session or token can appear in between.
      const changed = await asStillAdmin(request, account.id, (trx) => setLocked(trx, account.id, true));
      await app.sessions.revokeAllForUser(account.id);
      await app.apiTokens.revokeAllForUser(account.id);
      if (!changed) return reply.redirect(backWithNotice(request.body.back, '/admin', 'unchanged'), 303);
      await app.audit(request, 'account.lock', { details: { targetId: account.id, target: account.username } });
      return reply.redirect(backWithNotice(request.body.back, '/admin', 'lock'), 303);
    },
  );

  // A reset mail, never a password: the admin starts the owner's own reset (a fresh link to the
  // account's address), which ends every session only once the owner sets a new password.
  app.post<{ Params: IdParams; Body: ButtonBody }>(
    '/admin/users/:id/reset-mail',
    { ...adminOnly, schema: { params: idParams, body: buttonBody } },
    async function sendResetMail(request, reply) {
      const account = await target(request, 'user:lock', request.params.id);
      const outcome = await app.passwordResets.sendFor(request, account.id);
      const notice = outcome === 'queued' ? 'reset' : outcome === 'locked' ? 'reset-locked' : 'reset-failed';
      return reply.redirect(backWithNotice(request.body.back, '/admin', notice), 303);
    },
  );

  // For an owner who lost both the phone and the recovery codes (after checking it is them). The
  // account then signs in with its password alone, everywhere afresh; the owner is told at the address, so a reset
  // nobody asked for does not pass unseen. Audited with whom it was done to.
  app.post<{ Params: IdParams; Body: ButtonBody }>(
    '/admin/users/:id/two-factor/reset',
    { ...sensitive, schema: { params: idParams, body: buttonBody } },
    async function resetTwoFactor(request, reply) {
      const account = await target(request, 'user:lock', request.params.id);
      if (!(await app.twoFactor.required(account.id)))
        return reply.redirect(backWithNotice(request.body.back, '/admin', 'two-factor-none'), 303);
      // Every second factor: the app, its recovery codes and the passkeys (each of which would still be asked for).
      await app.twoFactor.removeAll(account.id);
      const passkeys = await app.passkeys.removeAll(account.id);
      // Whatever signed in under the old factors ends with them (whoever holds the lost phone too),
      // as when the owner changes a second factor: every session and every API token.
      await app.sessions.revokeAllForUser(account.id);
      await app.apiTokens.revokeAllForUser(account.id);
      await app.audit(request, 'two-factor.reset', { details: { targetId: account.id, target: account.username, passkeys } });
      const owner = await db.selectFrom('users').select(['username', 'email']).where('id', '=', account.id).executeTakeFirst();
      if (owner)
        app.mailer.send({
          to: owner.email,
          template: 'two-factor-changed',
          data: twoFactorChangedMail(owner.username, 'reset', app.twoFactor.now()),
        });
      return reply.redirect(backWithNotice(request.body.back, '/admin', 'two-factor-reset'), 303);
    },
  );

  app.post<{ Params: IdParams; Body: ButtonBody }>(
    '/admin/users/:id/unlock',
    { ...sensitive, schema: { params: idParams, body: buttonBody } },
    async function unlock(request, reply) {
      const account = await target(request, 'user:lock', request.params.id);
      if (!(await asStillAdmin(request, account.id, (trx) => setLocked(trx, account.id, false))))
        return reply.redirect(backWithNotice(request.body.back, '/admin', 'unchanged'), 303);
      await app.audit(request, 'account.unlock', { details: { targetId: account.id, target: account.username } });
      return reply.redirect(backWithNotice(request.body.back, '/admin', 'unlock'), 303);
    },
  );
}
