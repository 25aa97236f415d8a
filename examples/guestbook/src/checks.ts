import type { DeployCheck } from 'bastion';

// The guestbook's deploy check, beside Bastion's in `guestbook check` and the production start.
// Only a confirmed address may sign (mayWrite, pages.ts), and confirmation comes by mail: in
// production without SMTP_URL no visitor could ever sign, a guestbook that cannot be written
// in. Bastion's own bastion.W002 only warns, since account mail is optional for Bastion itself.

export const signingNeedsMail: DeployCheck = (config) =>
  config.isProduction && config.smtpUrl === null
    ? [
        {
          id: 'guestbook.E001',
          severity: 'error',
          message: 'SMTP_URL is not set: no confirmation mail goes out, so no visitor can confirm an address and sign the guestbook.',
          fix: 'Set SMTP_URL and MAIL_FROM.',
        },
      ]
    : [];
