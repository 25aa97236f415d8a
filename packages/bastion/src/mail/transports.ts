import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import nodemailer from 'nodemailer';
import type { SmtpEndpoint } from './smtp-url.js';

// Where a composed mail goes: an SMTP server over TLS, or (development, no SMTP_URL) a file in
// the outbox. Both build the message with nodemailer, so the .eml file is what SMTP would carry.

export interface OutgoingMail {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailTransport {
  /** Resolves once the mail is accepted (by the server, or written); rejects with nodemailer's error. */
  deliver(mail: OutgoingMail): Promise<{ readonly outboxPath?: string }>;
  close(): void;
}

export interface SmtpTransportOptions {
  /** smtp:// must upgrade with STARTTLS before anything is sent (nodemailer's requireTLS). */
  readonly requireTls: boolean;
  /** The CA to trust for the server's certificate instead of the system's (tests pass their own). Verification is never off. */
  readonly ca?: string | Buffer;
  /** The name given in EHLO (and so in the Received header): the public host, not the machine's own name. */
  readonly clientName?: string;
  readonly connectionTimeoutMs?: number;
  readonly greetingTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
}

// Headers every message carries, none from user data. Auto-Submitted (RFC 3834) keeps
// vacation responders and the like from answering an automatic mail.
const FIXED_HEADERS = { 'Auto-Submitted': 'auto-generated' };

// Nodemailer can read attachments and alternatives from files and URLs; we send none, so
// neither may ever be read whatever a message object holds.
const NO_ACCESS = { disableFileAccess: true, disableUrlAccess: true } as const;

export function smtpTransport(endpoint: SmtpEndpoint, options: SmtpTransportOptions): MailTransport {
  const tls: ConnectionOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: true, ...(options.ca ? { ca: options.ca } : {}) };
  const transport = nodemailer.createTransport({
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    // Without requireTLS nodemailer sends in clear text when the server (or someone between)
    // does not offer STARTTLS: login and mail readable on the wire. Only an explicit opt-out
    // (SMTP_REQUIRE_TLS=false, refused in production with a password) turns that off.
    requireTLS: !endpoint.secure && options.requireTls,
    ...(endpoint.user !== null ? { auth: { user: endpoint.user, pass: endpoint.pass ?? '' } } : {}),
    tls,
    ...(options.clientName ? { name: options.clientName } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
    dnsTimeout: 10_000,
    // Nodemailer's own logger would print the SMTP conversation, AUTH included.
    logger: false,
    debug: false,
    ...NO_ACCESS,
  });
  return {
    async deliver(mail) {
      await transport.sendMail({ ...mail, headers: FIXED_HEADERS });
      return {};
    },
    close() {
      transport.close();
    },
  };
}

/** Development without SMTP_URL: each mail becomes `<dir>/<time>-<uuid>.eml`, mode 0600. */
export function outboxTransport(dir: string): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix', ...NO_ACCESS });
  return {
    async deliver(mail) {
      const info = await composer.sendMail({ ...mail, headers: FIXED_HEADERS });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // The name is ours alone (time and a random id), never a part of the mail.
      const path = join(dir, `${new Date().toISOString().replaceAll(':', '-')}-${randomUUID()}.eml`);
      await writeFile(path, info.message as Buffer, { mode: 0o600, flag: 'wx' });
      await chmod(path, 0o600); // whatever the umask
      return { outboxPath: path };
    },
    close() {},
  };
}
