import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime.js';
import { otpauthUri, qrCodeDataUrl } from '../two-factor/totp.js';
import { PASSKEY_NOTICES } from './passkey-pages.js';
import { twoFactorChangedMail, type TwoFactorChange } from '../two-factor/two-factor-mail.js';

// /settings/security: the signed-in user's second factor (SPEC §2). The page is drawn in
// sections (packages/bastion/src/views/security/*.eta, and the passkeys' packages/bastion/src/views/partials/passkeys.eta), one per method.
//  - An authenticator app is set up in two steps: a fresh secret is made and shown (a QR code
//    drawn on the server as an SVG <img>, and the secret as text); the app's first code turns it
//    on. Only then is the account asked for a code at sign-in.
//  - Turning it on makes a new set of recovery codes, shown once on the answer page (never again:
//    only their hashes are kept). The set can be remade, which voids the old one.
//  - Turning it on or off, or remaking the codes, ends every other session of the user (this one
//    goes on under a fresh id), is audited and is told to the address by mail.
// The changes are marked `reauth: true`: they need a recent proof of identity (the
// re-authentication layer enforces it; SPEC §3 "re-authentication").

const form = (properties: Record<string, object>, required: string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    required,
    properties: { ...properties, _csrf: { type: 'string', maxLength: 128 } },
  }) as const;
const codeBody = form({ code: { type: 'string', maxLength: 64 } }, ['code']);
const emptyBody = form({}, []);

const NOTICES = {
  ...PASSKEY_NOTICES,
  disabled: 'Two-factor sign-in is off; every other session and API token was ended.',
  'recovery-code': 'You signed in with a recovery code. It cannot be used again.',
  required: 'Your role requires two-factor sign-in: set up an authenticator app to go on.',
} as const;
type Notice = keyof typeof NOTICES;
const securityQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { done: { type: 'string', enum: Object.keys(NOTICES) } },
} as const;

/** "29 Nov 2026, 10:15 UTC": the server has no idea of the reader's zone, so it says which. */
const readableTime = (iso: string): string =>
  `${new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' })} UTC`;

const WRONG_CODE = 'That code is not right: check the time on your phone and enter the code the app shows now.';

export async function securityPages(app: FastifyInstance, _runtime: Runtime): Promise<void> {
  const { twoFactor } = app;
  const member = { access: 'member' as const, secondFactorSetup: true };
  const sensitive = { ...member, reauth: true };

  const privatePage = (reply: FastifyReply): FastifyReply => reply.header('cache-control', 'no-store');

  async function mailChange(request: FastifyRequest, change: TwoFactorChange): Promise<void> {
    const user = request.member;
    app.mailer.send({ to: user.email, template: 'two-factor-changed', data: twoFactorChangedMail(user.username, change, twoFactor.now()) });
  }

  /** The page that shows a new set of recovery codes: the one time they are ever shown. */
  const showCodes = (reply: FastifyReply, codes: readonly string[], fresh: boolean) =>
    privatePage(reply).page('recovery-codes', { title: 'Your recovery codes', codes, enabledNow: fresh });

  app.get<{ Querystring: { done?: Notice } }>(
    '/settings/security',
    { config: member, schema: { querystring: securityQuery } },
    async (request, reply) => {
      const userId = request.member.id;
      const [totpEnabled, recoveryLeft, passkeys] = await Promise.all([
        twoFactor.totp.enabled(userId),
        twoFactor.recovery.remaining(userId),
        app.passkeys.list(userId),
      ]);
      const done = request.query.done;
      return privatePage(reply).page('security', {
        title: 'Security',
        notice: done ? NOTICES[done] : null,
        totpEnabled,
        recoveryLeft,
        passkeys,
        when: readableTime,
      });
    },
  );

  app.post('/settings/security/totp/start', { config: sensitive, schema: { body: emptyBody } }, async (request, reply) => {
    // An app already on stays on: turning it off comes first (a second app would be a second secret to lose).
    await twoFactor.totp.begin(request.member.id, twoFactor.now());
    return reply.redirect('/settings/security/totp', 303);
  });

  async function enrolPage(request: FastifyRequest, reply: FastifyReply, error: string | null) {
    const user = request.member;
    const secret = await twoFactor.totp.pending(user.id);
    if (secret === null) return reply.redirect('/settings/security', 303);
    const uri = otpauthUri(secret, user.email, app.site.name);
    return privatePage(reply)
      .code(error ? 422 : 200)
      .page('totp-enrol', {
        title: 'Set up an authenticator app',
        qr: await qrCodeDataUrl(uri),
        secret: secret.replace(/(.{4})(?=.)/g, '$1 '),
        error,
      });
  }

  app.get('/settings/security/totp', { config: member }, (request, reply) => enrolPage(request, reply, null));

  app.post<{ Body: { code: string } }>(
    '/settings/security/totp',
    { config: sensitive, schema: { body: codeBody } },
    async (request, reply) => {
      const user = request.member;
      const code = request.body.code.replace(/\s/g, '');
      if (!(await twoFactor.totp.confirm(user.id, code, twoFactor.now()))) return enrolPage(request, reply, WRONG_CODE);
      const codes = await twoFactor.recovery.replace(user.id, twoFactor.now());
      await twoFactor.endOtherSessions(request, reply);
      await app.audit(request, 'two-factor.enable', { details: { method: 'totp' } });
      await mailChange(request, 'enabled');
      return showCodes(reply, codes, true);
    },
  );

  app.post('/settings/security/totp/disable', { config: sensitive, schema: { body: emptyBody } }, async (request, reply) => {
    const user = request.member;
    if (!(await twoFactor.totp.enabled(user.id))) return reply.redirect('/settings/security', 303);
    await twoFactor.removeAll(user.id);
    await twoFactor.endOtherSessions(request, reply);
    await app.audit(request, 'two-factor.disable', { details: { method: 'totp' } });
    await mailChange(request, 'disabled');
    return reply.redirect('/settings/security?done=disabled', 303);
  });

  app.post('/settings/security/recovery-codes', { config: sensitive, schema: { body: emptyBody } }, async (request, reply) => {
    const user = request.member;
    // Recovery codes back up a second factor; without one they would be a second password.
    if (!(await twoFactor.required(user.id))) return reply.redirect('/settings/security', 303);
    const codes = await twoFactor.recovery.replace(user.id, twoFactor.now());
    await twoFactor.endOtherSessions(request, reply);
    await app.audit(request, 'recovery-codes.regenerate');
    await mailChange(request, 'codes');
    return showCodes(reply, codes, false);
  });
}
