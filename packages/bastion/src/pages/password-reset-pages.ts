import type { FastifyInstance, FastifyReply } from 'fastify';
import { passwordChangedMail } from '../accounts/account-mail.js';
import { EMAIL_MAX, normalizeEmail } from '../accounts/account-rules.js';
import { RESET_COOKIE, tokenCookie } from '../accounts/token-cookie.js';
import { resetPassword } from '../accounts/users.js';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';
import { admitPasswordWork } from '../security/password-admission.js';
import { deviceCookies } from '../security/device-cookies.js';

// "Forgot password" and the reset link (SPEC §3, account mail), as HTML forms.
//  - /password/forgot answers the same page and status for any address (the work that differs
//    happens after the answer: packages/bastion/src/accounts/password-resets.ts); past the address's limit it
//    still answers so, sending nothing; past the IP's limit it answers 429.
//  - /password/reset/:token moves the token out of the URL at once, into an encrypted cookie
//    only /password/reset gets, and redirects to the token-free /password/reset; a dead,
//    foreign or malformed token ends on that same page with one message.
//  - Setting the password spends the token, applies the policy, ends every session and API
//    token (the same write as any password change), signs this browser in, and mails the address.

const csrfField = { type: 'string', maxLength: 128 } as const;
// A control character (CR/LF above all) can never be part of an address: refused as a bad
// request before any lookup or mail, rather than normalised into something else.
const forgotBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email'],
  properties: { email: { type: 'string', minLength: 1, maxLength: EMAIL_MAX, pattern: '^[^\\u0000-\\u001f\\u007f]*$' }, _csrf: csrfField },
} as const;
const resetBody = {
  type: 'object',
  additionalProperties: false,
  required: ['password'],
  properties: { password: { type: 'string', maxLength: 1024 }, _csrf: csrfField },
} as const;
// No pattern: a malformed token gets the same answer as a dead one (peek refuses its shape).
const tokenParams = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', maxLength: 128 } },
} as const;

/** Another request spent the token between this one's peek and its consume. */
class SpentToken extends Error {}

interface ForgotBody {
  email: string;
}
interface ResetBody {
  password: string;
}

const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function passwordResetPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const cookie = tokenCookie(runtime.config, RESET_COOKIE);
  const devices = deviceCookies(runtime.config, runtime.db.kysely);
  const publicPage = { config: { access: 'public' } } as const;

  const invalidLink = (reply: FastifyReply, status: number) => {
    cookie.clear(reply);
    return privatePage(reply).code(status).page('password-reset', { title: 'Choose a new password', valid: false, errors: [], email: '' });
  };

  app.get('/password/forgot', publicPage, async (_request, reply) => {
    return privatePage(reply).page('password-forgot', { title: 'Forgot password', sent: false });
  });

  app.post<{ Body: ForgotBody }>('/password/forgot', { ...publicPage, schema: { body: forgotBody } }, async (request, reply) => {
    const email = normalizeEmail(request.body.email);
    const mayMail = await app.passwordResetLimit(request, email);
    app.passwordResets.requestByAddress(request, email, mayMail);
    return privatePage(reply).page('password-forgot', { title: 'Forgot password', sent: true });
  });

  app.get<{ Params: { token: string } }>(
    '/password/reset/:token',
    { ...publicPage, schema: { params: tokenParams } },
    async (request, reply) => {
      const grant = await app.accountTokens.peek('reset', request.params.token);
      if (grant) cookie.set(reply, request.params.token);
      else cookie.clear(reply);
      // The token-free page says whether the link was good; this answer is the same either way.
      // no-referrer here only: the token's URL must not travel on, but a form page under that
      // policy would post with `Origin: null`, which the CSRF layer rightly refuses.
      return privatePage(reply).header('referrer-policy', 'no-referrer').redirect('/password/reset', 303);
    },
  );

  app.get('/password/reset', publicPage, async (request, reply) => {
    const token = cookie.read(request);
    const grant = token === null ? null : await app.accountTokens.peek('reset', token);
    if (!grant) return invalidLink(reply, 200);
    return privatePage(reply).page('password-reset', { title: 'Choose a new password', valid: true, errors: [], email: grant.email });
  });

  app.post<{ Body: ResetBody }>('/password/reset', { ...publicPage, schema: { body: resetBody } }, (request, reply) =>
    admitPasswordWork(async () => {
      const token = cookie.read(request);
      const grant = token === null ? null : await app.accountTokens.peek('reset', token);
      if (token === null || !grant) return invalidLink(reply, 400);
      const form = (status: number, errors: string[]) =>
        privatePage(reply).code(status).page('password-reset', { title: 'Choose a new password', valid: true, errors, email: grant.email });
      let changed: Awaited<ReturnType<typeof resetPassword>>;
      try {
        // The policy is checked before the token is spent, so a weak password costs no new mail;
        // the token is spent only once the password is known to be acceptable.
        changed = await resetPassword(runtime.db.kysely, grant.userId, request.body.password, {
          async beforePasswordChange() {
            if (!(await app.accountTokens.consume('reset', token))) throw new SpentToken();
            await app.sessions.revokeAllForUser(grant.userId);
          },
        });
      } catch (err) {
        if (err instanceof AppError && err.code === 'VALIDATION' && err.fields) {
          return form(
            422,
            Object.entries(err.fields).flatMap(([field, messages]) => messages.map((m) => `${field} ${m}`)),
          );
        }
        if (err instanceof SpentToken) return invalidLink(reply, 400);
        throw err;
      }
      if (!changed) return invalidLink(reply, 400);
      cookie.clear(reply);
      await app.sessions.start(request, reply, changed.user, changed.authVersion);
      devices.issue(reply, changed.user.id);
      await app.audit(request, 'password.reset.complete', { actorId: changed.user.id, actorName: changed.user.username });
      app.mailer.send({ to: changed.user.email, template: 'password-changed', data: passwordChangedMail(changed.user.username, 'reset') });
      return reply.redirect('/', 303);
    }),
  );
}
