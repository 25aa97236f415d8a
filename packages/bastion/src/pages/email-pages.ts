import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  applyConfirmation,
  isConfirmed,
  peekConfirmation,
  sendConfirmation,
  type ConfirmOutcome,
  type PendingConfirmation,
} from '../accounts/account-mail.js';
import { CONFIRM_COOKIE, tokenCookie } from '../accounts/token-cookie.js';
import type { Runtime } from '../runtime.js';

// Confirmation links (sign-up and email change) and what surrounds them: the "check your email"
// page registration answers with, the page a link lands on, and a new link for a signed-in
// account that has not confirmed yet.
//
// Opening a link changes nothing: mail scanners and link previewers fetch links unasked, and a
// prefetch of an email-change link from a mistyped (someone else's) mailbox must not move the
// account there. GET /email/confirm/:token moves the token at once into an encrypted cookie only
// /email/confirm gets (packages/bastion/src/accounts/token-cookie.ts) and answers every token alike with a 303 to
// the token-free /email/confirm, so the token leaves the address bar, the history and any Referer
// (Referrer-Policy: no-referrer on the redirect). That page says what confirming would do and
// carries a "Confirm" button: the POST, a CSRF-checked form like every other, spends the token.
// An email change is confirmed only from a session of the account that asked for it: the link
// proves the new mailbox, the session proves the account's owner, so a stranger who owns a
// mistyped address cannot press Confirm and take the account over by a password reset to it.
// The page asks anyone else to sign in as that account first (the token waits in its cookie).

const csrfField = { type: 'string', maxLength: 128 } as const;
const csrfOnly = { type: 'object', additionalProperties: false, properties: { _csrf: csrfField } } as const;
// Any text up to a bound: a malformed token is refused by the token service with the same
// answer as a used one, rather than by a schema with another status.
const tokenParams = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', maxLength: 256 } },
} as const;

// One message for a used, expired, voided, unknown or foreign link: none tells more than another.
const INVALID_MESSAGE =
  'This link is not valid: it may have been used already, have expired, or been cancelled by a password change. Sign in and ask for a new one from your settings.';
const RESULTS: Readonly<Record<ConfirmOutcome, { ok: boolean; heading: string; message: string }>> = {
  confirmed: { ok: true, heading: 'Email confirmed', message: 'Your email address is confirmed. You can now write {writes}.' },
  changed: { ok: true, heading: 'Email changed', message: 'Your new email address is confirmed and is now the address of your account.' },
  invalid: { ok: false, heading: 'Link not valid', message: INVALID_MESSAGE },
  taken: {
    ok: false,
    heading: 'Email not changed',
    message: 'That address now belongs to another account, so your email address was not changed.',
  },
};
const resultQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['result'],
  properties: { result: { type: 'string', enum: Object.keys(RESULTS) } },
} as const;

const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

export async function emailPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  const cookie = tokenCookie(runtime.config, CONFIRM_COOKIE);
  const publicPage = { config: { access: 'public' } } as const;

  app.get<{ Params: { token: string } }>(
    '/email/confirm/:token',
    { ...publicPage, schema: { params: tokenParams } },
    async (request, reply) => {
      if (await peekConfirmation(app, request.params.token)) cookie.set(reply, request.params.token);
      else cookie.clear(reply);
      // The same answer for every token; the token-free page says whether it was good. no-referrer
      // here only: a form page under that policy would post with `Origin: null`, which CSRF refuses.
      return privatePage(reply).header('referrer-policy', 'no-referrer').redirect('/email/confirm', 303);
    },
  );

  /** Whether this request may press Confirm on `pending`: a change needs its own account's session. */
  const mayConfirm = (request: FastifyRequest, pending: PendingConfirmation): boolean =>
    pending.purpose !== 'email-change' || request.user?.id === pending.userId;

  app.get('/email/confirm', publicPage, async (request, reply) => {
    const token = cookie.read(request);
    const pending = token === null ? null : await peekConfirmation(app, token);
    if (!pending) cookie.clear(reply);
    const title = pending?.purpose === 'email-change' ? 'Confirm your new email address' : 'Confirm your email address';
    return privatePage(reply).page('email-confirm', {
      title,
      pending,
      signInNeeded: pending !== null && !mayConfirm(request, pending),
      invalidMessage: INVALID_MESSAGE,
    });
  });

  app.post('/email/confirm', { ...publicPage, schema: { body: csrfOnly } }, async (request, reply) => {
    const token = cookie.read(request);
    const pending = token === null ? null : await peekConfirmation(app, token);
    // Not the account's session: nothing is spent, and the page says to sign in as that account.
    if (pending && !mayConfirm(request, pending)) return privatePage(reply).redirect('/email/confirm', 303);
    const outcome: ConfirmOutcome = token === null ? 'invalid' : await applyConfirmation(app, db, runtime.config, request, token);
    cookie.clear(reply);
    return privatePage(reply).redirect(`/email/confirmed?result=${outcome}`, 303);
  });

  app.get<{ Querystring: { result: ConfirmOutcome } }>(
    '/email/confirmed',
    { ...publicPage, schema: { querystring: resultQuery } },
    async (request, reply) => {
      const result = RESULTS[request.query.result];
      const message = result.message.replace('{writes}', app.site.writes);
      return privatePage(reply)
        .code(result.ok ? 200 : 400)
        .page('email-confirmed', { title: result.heading, ...result, message });
    },
  );

  // What registration answers, whether the address was new or taken (packages/bastion/src/pages/auth-pages.ts).
  app.get('/register/check-email', publicPage, async (_request, reply) => {
    return privatePage(reply).page('check-email', { title: 'Check your email' });
  });

  // A new link for the signed-in account, limited (packages/bastion/src/security/rate-limits.ts); the older links stay valid until one is used.
  app.post('/email/confirm/resend', { config: { access: 'member' }, schema: { body: csrfOnly } }, async (request, reply) => {
    const user = request.member;
    if (await isConfirmed(db, user.id)) return reply.redirect('/settings', 303);
    await app.confirmationResendLimit(request, user.id);
    await sendConfirmation(app, runtime.config, user);
    return reply.redirect('/settings?done=resent', 303);
  });
}
