import type { FastifyInstance } from 'fastify';
import { applyConfirmation, isConfirmed, sendConfirmation, type ConfirmOutcome } from '../accounts/account-mail.js';
import type { Runtime } from '../runtime.js';

// Confirmation links (sign-up and email change) and what surrounds them: the "check your email"
// page registration answers with, the page a link lands on, and a new link for a signed-in
// account that has not confirmed yet.
//
// The link spends its token on the GET and answers with a 303 to a page without it, so the
// token leaves the address bar, the history and any Referer at once (Referrer-Policy:
// no-referrer on the redirect, too). A mail scanner that fetches the link confirms the address
// — which only shows the mail reached that mailbox, what confirming is meant to show.

const csrfField = { type: 'string', maxLength: 128 } as const;
// Any text up to a bound: a malformed token is refused by the token service with the same
// message as a used one, rather than by a schema with another status.
const tokenParams = { type: 'object', additionalProperties: false, required: ['token'], properties: { token: { type: 'string', maxLength: 256 } } } as const;

const RESULTS: Readonly<Record<ConfirmOutcome, { ok: boolean; heading: string; message: string }>> = {
  confirmed: { ok: true, heading: 'Email confirmed', message: 'Your email address is confirmed. You can now write articles and comments.' },
  changed: { ok: true, heading: 'Email changed', message: 'Your new email address is confirmed and is now the address of your account.' },
  // One message for a used, expired, voided, unknown or foreign link: none tells more than another.
  invalid: { ok: false, heading: 'Link not valid', message: 'This link is not valid: it may have been used already, have expired, or been cancelled by a password change. Sign in and ask for a new one from your settings.' },
  taken: { ok: false, heading: 'Email not changed', message: 'That address now belongs to another account, so your email address was not changed.' },
};
const resultQuery = { type: 'object', additionalProperties: false, required: ['result'], properties: { result: { type: 'string', enum: Object.keys(RESULTS) } } } as const;

export async function emailPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;

  app.get<{ Params: { token: string } }>('/email/confirm/:token', { config: { access: 'public' }, schema: { params: tokenParams } }, async (request, reply) => {
    const outcome = await applyConfirmation(app, db, runtime.config, request, request.params.token);
    return reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').redirect(`/email/confirmed?result=${outcome}`, 303);
  });

  app.get<{ Querystring: { result: ConfirmOutcome } }>('/email/confirmed', { config: { access: 'public' }, schema: { querystring: resultQuery } }, async (request, reply) => {
    const result = RESULTS[request.query.result];
    return reply.header('cache-control', 'no-store').code(result.ok ? 200 : 400).page('email-confirmed', { title: result.heading, ...result });
  });

  // What registration answers, whether the address was new or taken (src/pages/auth-pages.ts).
  app.get('/register/check-email', { config: { access: 'public' } }, async (_request, reply) => {
    return reply.header('cache-control', 'no-store').page('check-email', { title: 'Check your email' });
  });

  // A new link for the signed-in account, limited (src/security/rate-limits.ts); the older links stay valid until one is used.
  app.post('/email/confirm/resend', { config: { access: 'member' }, schema: { body: { type: 'object', additionalProperties: false, properties: { _csrf: csrfField } } } }, async (request, reply) => {
    const user = request.member;
    if (await isConfirmed(db, user.id)) return reply.redirect('/settings', 303);
    await app.confirmationResendLimit(request, user.id);
    await sendConfirmation(app, runtime.config, user);
    return reply.redirect('/settings?done=resent', 303);
  });
}
