import { createHmac, randomUUID } from 'node:crypto';
import { isSafeSubject, isSingleAddress, recipientDomain } from './mail-address.js';
import { MailTemplates } from './mail-templates.js';
import { DEFAULT_SITE, type Site } from '../config/site.js';
import { DEFAULT_RETRY, MailQueue, type GiveUpReason, type QueuedMail, type RetryPolicy, type Wait } from './mail-queue.js';
import { parseSmtpUrl } from './smtp-url.js';
import { outboxTransport, smtpTransport, type MailTransport } from './transports.js';

// The one way to send mail: `mailer.send({ to, template, data })`. It checks the recipient and
// the rendered subject, renders both parts, queues the mail and returns at once; it never
// throws for a mail problem and never waits for the server, so a request that sends mail
// cannot be slowed or failed by it. What could not be sent is logged — by template id, the
// recipient's domain and a keyed hash of the address, and the error's code; never the body,
// which may hold a token — and handed to `recordFailure` for the admin.

export interface MailLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MailFailure {
  readonly mailId: string;
  readonly template: string;
  readonly recipient: string;
  readonly attempts: number;
  readonly reason: GiveUpReason | 'queue-full';
  /** e.g. `ECONNECTION`, `EENVELOPE 550`: a code, never the server's text. */
  readonly error: string;
}

export interface MailerOptions {
  /** The From of every mail (MAIL_FROM). */
  readonly from: string;
  /** smtp:// or smtps://; null writes each mail to `outboxDir` instead. */
  readonly smtpUrl: string | null;
  /** Where mail goes without smtpUrl (development, tests); null: mail is off (production without SMTP_URL). */
  readonly outboxDir: string | null;
  /** smtp:// must upgrade with STARTTLS (default true). */
  readonly requireTls?: boolean;
  readonly templatesDir: string;
  /** The application's identity, given to every template as `it.site` (default: the neutral DEFAULT_SITE). */
  readonly site?: Site;
  /** Keep compiled templates (off in development, where templates are edited). */
  readonly cacheTemplates: boolean;
  readonly log: MailLogger;
  /** Keys the recipient hash in log lines, so a log alone cannot confirm an address. */
  readonly logHashKey: string;
  /** Stores a given-up mail for the admin; a failure to store is logged, never thrown. */
  readonly recordFailure?: (failure: MailFailure) => Promise<void>;
  /** Mails waiting at most (default 1000). */
  readonly queueLimit?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly wait?: Wait;
  /** The CA to trust for the SMTP server's certificate instead of the system's (tests); a deployment uses NODE_EXTRA_CA_CERTS. */
  readonly tlsCa?: string | Buffer;
  /** The name the mailer gives in EHLO (default: the machine's host name). */
  readonly clientName?: string;
  /** How long close() waits for queued mail (default 5 s). */
  readonly drainMs?: number;
  readonly timeouts?: { readonly connectionMs?: number; readonly greetingMs?: number; readonly socketMs?: number };
}

export interface MailRequest {
  /** One bare address; anything else (a list, a display name, a control character) is refused. */
  readonly to: string;
  /** A folder under the templates directory: subject.eta, text.eta, html.eta. */
  readonly template: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

export type SendResult =
  | { readonly status: 'queued'; readonly id: string }
  | { readonly status: 'refused'; readonly reason: 'unsafe-recipient' | 'unsafe-subject' | 'queue-full' | 'closed' | 'mail-off' };

export const DEFAULT_QUEUE_LIMIT = 1000;
export const DEFAULT_DRAIN_MS = 5_000;
const MAX_RECORDS_IN_FLIGHT = 100;

export class Mailer {
  readonly #options: MailerOptions;
  readonly #templates: MailTemplates;
  readonly #site: Site;
  readonly #transport: MailTransport | null;
  readonly #queue: MailQueue;
  readonly #recording = new Set<Promise<void>>();
  #closed: Promise<void> | null = null;

  constructor(options: MailerOptions) {
    this.#options = options;
    this.#site = options.site ?? DEFAULT_SITE;
    this.#templates = new MailTemplates(options.templatesDir, { cache: options.cacheTemplates });
    this.#transport = createTransport(options);
    this.#queue = new MailQueue({
      transport: this.#transport ?? { deliver: () => Promise.reject(new Error('mail is off')), close() {} },
      limit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      ...(options.wait ? { wait: options.wait } : {}),
      events: {
        sent: (item, receipt) => {
          if (receipt.outboxPath)
            options.log.info({ mail: this.#describe(item), path: receipt.outboxPath }, 'mail written to the outbox (no SMTP_URL)');
          else options.log.info({ mail: this.#describe(item) }, 'mail sent');
        },
        retrying: (item, error, delayMs) => {
          options.log.warn({ mail: this.#describe(item), error: errorCode(error), retryInMs: delayMs }, 'mail not sent yet: will retry');
        },
        failed: (item, error, reason) => this.#giveUp(item, errorCode(error), reason),
      },
    });
  }

  /** False when no mail can go out (production without SMTP_URL): a flow may then say recovery by mail is off. */
  get enabled(): boolean {
    return this.#transport !== null;
  }

  /** The folder mail is written to instead of sent (no SMTP_URL, outside production), or null when it goes by SMTP or nowhere. */
  get outboxDir(): string | null {
    return this.#options.smtpUrl === null ? this.#options.outboxDir : null;
  }

  /** Mails queued and not yet delivered or given up. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Resolves once every queued mail is delivered or given up and its failure recorded (tests, tools). */
  async settled(): Promise<void> {
    await this.#queue.whenIdle();
    await Promise.all(this.#recording);
  }

  /** Checks, renders and queues a mail; returns at once. Throws only for a template that is missing or fails to render (a bug). */
  send(request: MailRequest): SendResult {
    if (this.#closed) return { status: 'refused', reason: 'closed' };
    if (!isSingleAddress(request.to)) return this.#refuse(request, 'unsafe-recipient');
    const rendered = this.#templates.render(request.template, { ...request.data, site: this.#site });
    if (!isSafeSubject(rendered.subject)) return this.#refuse(request, 'unsafe-subject');
    if (!this.#transport) {
      this.#options.log.warn(
        { mail: { template: request.template, domain: recipientDomain(request.to) } },
        'mail not sent: no SMTP_URL is set (bastion.W002)',
      );
      return { status: 'refused', reason: 'mail-off' };
    }
    const item: QueuedMail = {
      id: randomUUID(),
      template: request.template,
      mail: { from: this.#options.from, to: request.to, ...rendered },
      attempts: 0,
    };
    if (!this.#queue.enqueue(item)) {
      this.#giveUp(item, 'EQUEUEFULL', 'queue-full');
      return { status: 'refused', reason: 'queue-full' };
    }
    return { status: 'queued', id: item.id };
  }

  /** Stops taking mail and waits (bounded) for the queue; what is left is logged and recorded. */
  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      const left = await this.#queue.drain(this.#options.drainMs ?? DEFAULT_DRAIN_MS);
      for (const item of left) this.#giveUp(item, 'ESHUTDOWN', 'shutdown');
      if (left.length > 0) this.#options.log.error({ dropped: left.length }, 'mail still queued at shutdown was dropped');
      this.#transport?.close();
      await Promise.all(this.#recording);
    })());
  }

  #refuse(request: MailRequest, reason: 'unsafe-recipient' | 'unsafe-subject'): SendResult {
    // The refused value itself is never logged: it is what an attacker typed.
    const domain = reason === 'unsafe-recipient' ? null : recipientDomain(request.to);
    this.#options.log.warn(
      { mail: { template: request.template, domain }, reason },
      'mail refused before queueing: a header value is unsafe',
    );
    return { status: 'refused', reason };
  }

  #giveUp(item: QueuedMail, error: string, reason: MailFailure['reason']): void {
    this.#options.log.error({ mail: this.#describe(item), error, reason }, 'mail could not be sent');
    const record = this.#options.recordFailure;
    if (!record) return;
    // A flood of refusals (queue full) must not become a flood of database writes.
    if (this.#recording.size >= MAX_RECORDS_IN_FLIGHT) {
      this.#options.log.error({ mail: this.#describe(item) }, 'mail failure not recorded: too many at once');
      return;
    }
    const failure: MailFailure = {
      mailId: item.id,
      template: item.template,
      recipient: item.mail.to,
      attempts: item.attempts,
      reason,
      error,
    };
    const pending = record(failure)
      .catch((err: unknown) =>
        this.#options.log.error({ mail: this.#describe(item), error: errorCode(err) }, 'mail failure could not be recorded'),
      )
      .finally(() => this.#recording.delete(pending));
    this.#recording.add(pending);
  }

  #describe(item: QueuedMail): object {
    const to = item.mail.to.toLowerCase();
    const hash = createHmac('sha256', this.#options.logHashKey).update(`mail-recipient\0${to}`).digest('hex').slice(0, 16);
    return { id: item.id, template: item.template, domain: recipientDomain(to), recipientHash: hash, attempt: item.attempts };
  }
}

function createTransport(options: MailerOptions): MailTransport | null {
  if (options.smtpUrl === null) return options.outboxDir === null ? null : outboxTransport(options.outboxDir);
  const endpoint = parseSmtpUrl(options.smtpUrl);
  // The deploy checks refuse a bad SMTP_URL (bastion.E018) before this is reached.
  if (!endpoint) throw new Error('SMTP_URL is not an smtp:// or smtps:// URL');
  return smtpTransport(endpoint, {
    requireTls: options.requireTls ?? true,
    ...(options.tlsCa ? { ca: options.tlsCa } : {}),
    ...(options.clientName ? { clientName: options.clientName } : {}),
    ...(options.timeouts?.connectionMs ? { connectionTimeoutMs: options.timeouts.connectionMs } : {}),
    ...(options.timeouts?.greetingMs ? { greetingTimeoutMs: options.timeouts.greetingMs } : {}),
    ...(options.timeouts?.socketMs ? { socketTimeoutMs: options.timeouts.socketMs } : {}),
  });
}

/** A short code for an error (nodemailer's `code`, its SMTP reply code): never the message, which may quote the server. */
export function errorCode(error: unknown): string {
  const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
  const name = typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,31}$/.test(code) ? code : 'ERROR';
  return typeof responseCode === 'number' ? `${name} ${responseCode}` : name;
}
