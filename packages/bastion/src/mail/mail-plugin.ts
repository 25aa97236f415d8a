import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import type { Site } from '../config/site.js';
import { recordMailFailure } from './mail-failures.js';
import { Mailer, type MailerOptions } from './mailer.js';

// The application's mailer: `app.mailer.send({ to, template, data })` from any route. Started
// with the app; on close (after the last request) it waits a bounded time for queued mail and
// logs and records whatever it had to drop.

declare module 'fastify' {
  interface FastifyInstance {
    readonly mailer: Mailer;
  }
}

/** The application's mail templates: one folder per template (packages/bastion/src/mail/mail-templates.ts), read from src/views whether this runs from packages/bastion/src/mail or dist/mail, as packages/bastion/src/http/views.ts does. */
export const MAIL_TEMPLATES_DIR = fileURLToPath(new URL('../../src/views/mail/', import.meta.url));

/** The sender when MAIL_FROM is unset (development; production with SMTP_URL refuses that, bastion.E019). */
export const DEVELOPMENT_FROM = 'Bastion <no-reply@localhost>';

/** What tests (or an application built on Bastion) may set beyond the configuration. */
export type MailerOverrides = Partial<
  Pick<MailerOptions, 'templatesDir' | 'tlsCa' | 'retry' | 'wait' | 'queueLimit' | 'drainMs' | 'timeouts'>
>;

/** PUBLIC_ORIGIN's host name, or null for an address or an unreadable origin (nodemailer's default then applies). */
function ehloName(publicOrigin: string): string | null {
  try {
    const { hostname } = new URL(publicOrigin);
    return hostname === '' || isIP(hostname.replace(/^\[(.*)\]$/, '$1')) !== 0 ? null : hostname;
  } catch {
    return null;
  }
}

export function registerMailer(app: FastifyInstance, runtime: Runtime, site: Site, overrides: MailerOverrides = {}): Mailer {
  const { config, db } = runtime;
  const clientName = ehloName(config.publicOrigin);
  const mailer = new Mailer({
    from: config.mailFrom ?? DEVELOPMENT_FROM,
    smtpUrl: config.smtpUrl,
    requireTls: config.smtpRequireTls,
    // Production without SMTP_URL sends nothing (bastion.W002) rather than keep tokens on disk.
    outboxDir: config.isProduction ? null : join(config.dataDir, 'outbox'),
    templatesDir: MAIL_TEMPLATES_DIR,
    site,
    cacheTemplates: config.nodeEnv !== 'development',
    // EHLO names the site, not the machine: an internal host name stays out of Received headers.
    ...(clientName ? { clientName } : {}),
    log: app.log,
    logHashKey: config.secretKey,
    recordFailure: (failure) => recordMailFailure(db, failure),
    ...overrides,
  });
  app.decorate('mailer', mailer);
  app.addHook('onClose', async function drainMail() {
    await mailer.close();
  });
  return mailer;
}
