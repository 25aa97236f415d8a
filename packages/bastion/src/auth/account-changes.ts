import type { FastifyInstance, FastifyRequest } from 'fastify';
import { passwordChangedMail, requestEmailChange } from '../accounts/account-mail.js';
import { updateUser, type UpdateResult, type UserChanges } from '../accounts/users.js';
import type { Runtime } from '../runtime.js';

// A signed-in user changing their own account, the same way through both faces (PUT /api/user
// and /settings). A new password or email needs the current password (packages/bastion/src/accounts/users.ts);
// here that check is wired to the limits and the audit log:
//  - a wrong current password is a failed login: counted per account+IP and per account, so a
//    stolen token or session cannot guess it faster than a login could;
//  - an email change is an address probe ("has already been taken"): counted like registration;
//  - email and password changes are audited (the addresses' domains only; the actor by id), and
//    a password change is told to the address by mail, with no link;
//  - a correct current password through the pages also renews the session's proof of identity
//    (the re-authentication window, packages/bastion/src/auth/reauth.ts), audited as reauthenticate.success;
//  - a new email is not applied: the new address is mailed a link that applies it, the old one
//    a notice (packages/bastion/src/accounts/account-mail.ts). Both faces alike: through the API too the answer
//    still shows the old address until the link is followed (README "Account mail").

/** "example.com" of "jake@example.com": enough to see an address move, without the address. */
const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1);

export async function changeOwnAccount(
  app: FastifyInstance,
  runtime: Runtime,
  request: FastifyRequest,
  changes: UserChanges,
  via: 'api' | 'page',
): Promise<UpdateResult> {
  const user = request.member;
  const result = await updateUser(runtime.db.kysely, user.id, changes, {
    async beforeReauthentication(change) {
      if (change.email) await app.emailChangeLimit(request, user.id);
      await app.loginGuard.check(request, user.email);
    },
    async reauthenticationFailed() {
      await app.loginGuard.failed(request, user.email);
      await app.audit(request, 'login.failure', { details: { reason: 'current-password', via } });
    },
    async reauthenticated() {
      await app.loginGuard.succeeded(request, user.email);
      // A correct current password in a page's form is a fresh proof of identity: the session
      // remembers it (packages/bastion/src/auth/reauth.ts), so the next sensitive change does not ask again.
      // The API has no session: each of its sensitive calls carries the password itself.
      if (via === 'page') await app.reauth.confirm(request, 'password');
    },
    // Whoever else held a session (perhaps the reason for the change) is logged out before the
    // new password is written; tokens go in its transaction.
    beforePasswordChange: () => app.sessions.revokeAllForUser(user.id),
  });
  if (result.requestedEmail !== null) {
    await requestEmailChange(app, runtime.config, result.user, result.requestedEmail);
    await app.audit(request, 'email.change', {
      details: { via, stage: 'requested', fromDomain: domainOf(result.user.email), toDomain: domainOf(result.requestedEmail) },
    });
  }
  if (result.passwordChanged) {
    await app.audit(request, 'password.change', { details: { via } });
    // Told at the address, so an owner whose session or token was stolen learns of it.
    app.mailer.send({ to: result.user.email, template: 'password-changed', data: passwordChangedMail(result.user.username, 'settings') });
  }
  return result;
}
