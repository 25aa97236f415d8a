import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime.js';
import { typedIdentifier, type AnyAuditEvent, type AuditFields } from '../audit/audit-log.js';
import { deriveKeys } from '../sessions/derive-keys.js';
import { clientKey } from './client-key.js';
import { limitFactory, localLimit, rateLimited, retryAfterSeconds, type LimitRule } from './limit-store.js';
import { LOGIN_RULES, createLoginGuard, type LoginGuard } from './login-limits.js';
import { SCAN_RETRY_MS, scansInFlight } from './scan-admission.js';
import { createWriteLimit, WRITE_RULES } from './write-limits.js';

// The request limits of SPEC §3. The client is request.ip, which Fastify takes from
// X-Forwarded-For only when the peer is in TRUST_PROXY (the right-most untrusted address), so
// a client cannot pick its own key by sending the header itself; an IPv6 client is counted per
// /64 (clientKey).

export type { LoginGuard } from './login-limits.js';

export const GENERAL_RULE = { name: 'general', points: 300, duration: 60 } as const;
export const REGISTRATION_RULE = { name: 'register', points: 5, duration: 60 * 60 } as const;
// Changing one's email answers "has already been taken" like registration does, so it is an
// address probe too: limited with registration's numbers, per IP and per account.
export const EMAIL_CHANGE_RULES = {
  ip: { ...REGISTRATION_RULE, name: 'email-change-ip' },
  account: { ...REGISTRATION_RULE, name: 'email-change-acct' },
} as const;
// A new confirmation link (POST /email/confirm/resend): each one is a mail to the account's
// address, so a signed-in account cannot turn the site into a mail cannon.
export const CONFIRMATION_RESEND_RULE = { name: 'confirm-resend', points: 3, duration: 60 * 60 } as const;
// "Someone tried to sign up with your address": at most this many a day per address, whatever
// the number of client addresses trying, so sign-ups cannot be used to flood an owner's inbox.
// Past it the mail is skipped silently: the visitor's answer never changes (packages/bastion/src/pages/auth-pages.ts).
export const ADDRESS_TAKEN_MAIL_RULE = { name: 'taken-mail', points: 3, duration: 24 * 60 * 60 } as const;
// "Forgot password" (SPEC §3 gives no numbers): per IP it answers 429 like any limit; per
// address the page answers as usual and no mail goes out, so the limit cannot tell whether the
// address has an account, and nobody can flood an inbox with reset mail.
export const PASSWORD_RESET_RULES = {
  ip: { name: 'reset-ip', points: 20, duration: 60 * 60 },
  address: { name: 'reset-addr', points: 5, duration: 60 * 60 },
} as const;
// The ratelimit.hit audit is written once per key per minute, so a flood of refusals cannot
// flood the audit table.
const AUDIT_ONCE_RULE = { name: 'audit-once', points: 1, duration: 60 } as const;

/** Routes never limited: static files and the health probes load balancers poll. */
const EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/static/*', '/healthz', '/readyz']);
/** Requests that change nothing: while Redis is away they are still limited, per instance. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

declare module 'fastify' {
  interface FastifyInstance {
    loginGuard: LoginGuard;
    /** Throws AppError('RATE_LIMITED') past 5 registrations per hour per IP. */
    registrationLimit(request: FastifyRequest): Promise<void>;
    /** Throws AppError('RATE_LIMITED') past 5 email-change attempts per hour per IP or per account. */
    emailChangeLimit(request: FastifyRequest, userId: number): Promise<void>;
    /** Throws AppError('RATE_LIMITED') past 3 confirmation mails asked for per hour per account. */
    confirmationResendLimit(request: FastifyRequest, userId: number): Promise<void>;
    /** Whether another "someone tried to sign up with your address" mail may go to account `userId` (ADDRESS_TAKEN_MAIL_RULE). */
    addressTakenMailAllowed(userId: number): Promise<boolean>;
    /** Throws AppError('RATE_LIMITED') past 20 reset requests per hour per IP; false (send nothing) past 5 per hour for the address. */
    passwordResetLimit(request: FastifyRequest, email: string): Promise<boolean>;
    /** Runs a request's scanning read (packages/bastion/src/security/scan-admission.ts) unless its IP already has SCANS_PER_CLIENT in flight: 429 then. */
    clientScan<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T>;
    /** Audits the event only the first time `key` is seen in a minute (for refusals anyone can repeat at will). */
    auditOncePerMinute(request: FastifyRequest, event: AnyAuditEvent, key: string, fields?: AuditFields): Promise<void>;
  }
}

export async function registerRateLimits(
  app: FastifyInstance,
  runtime: Runtime,
  writeLimits: Readonly<Record<string, LimitRule>> = WRITE_RULES,
): Promise<void> {
  const limit = limitFactory(runtime, app.log);
  const general = limit(GENERAL_RULE);
  const generalLocal = localLimit(GENERAL_RULE, app.log);
  const registration = limit(REGISTRATION_RULE);
  const emailChangeIp = limit(EMAIL_CHANGE_RULES.ip);
  const emailChangeAccount = limit(EMAIL_CHANGE_RULES.account);
  const confirmationResend = limit(CONFIRMATION_RESEND_RULE);
  const addressTakenMail = limit(ADDRESS_TAKEN_MAIL_RULE);
  const auditMarker = limit(AUDIT_ONCE_RULE);
  const resetIp = limit(PASSWORD_RESET_RULES.ip);
  const resetAddress = limit(PASSWORD_RESET_RULES.address);
  const resetAddressKey = deriveKeys(runtime.config, 'reset-address-limit')[0]!;

  async function auditOnce(request: FastifyRequest, key: string, account: string | null, ms: number): Promise<void> {
    const mark = await auditMarker.hit(key);
    if (mark.count !== 1) return;
    await app.audit(request, 'ratelimit.hit', {
      // The account a login named is what the client typed: a detail, never the actor.
      ...(account === null ? {} : { actorId: null }),
      details: {
        limit: key.split('|', 1)[0] ?? '',
        ...(account === null ? {} : { identifier: typedIdentifier(account) }),
        retryAfter: retryAfterSeconds(ms),
      },
    });
  }

  app.decorate(
    'auditOncePerMinute',
    async function auditOncePerMinute(request: FastifyRequest, event: AnyAuditEvent, key: string, fields?: AuditFields) {
      // Without the shared store the event is written rather than lost: an attacker who can
      // disturb Redis then costs audit rows, never silence.
      const first = await auditMarker.hit(`${event}|${key}`).then(
        (mark) => mark.count === 1,
        () => true,
      );
      if (first) await app.audit(request, event, fields);
    },
  );

  app.decorate(
    'loginGuard',
    createLoginGuard(
      app,
      {
        ipMinute: limit(LOGIN_RULES.ipMinute),
        ipDay: limit(LOGIN_RULES.ipDay),
        accountIp: limit(LOGIN_RULES.accountIp),
        accountWindow: limit(LOGIN_RULES.accountWindow),
        accountBackoff: limit(LOGIN_RULES.accountBackoff),
        accountHour: limit(LOGIN_RULES.accountHour),
        device: limit(LOGIN_RULES.device),
      },
      auditOnce,
    ),
  );

  app.decorate('registrationLimit', async function registrationLimit(request: FastifyRequest) {
    const client = clientKey(request.ip);
    const used = await registration.hit(client);
    if (used.count > REGISTRATION_RULE.points) {
      await auditOnce(request, `register|${client}`, null, used.msLeft);
      throw rateLimited(used.msLeft);
    }
  });

  app.decorate('emailChangeLimit', async function emailChangeLimit(request: FastifyRequest, userId: number) {
    const client = clientKey(request.ip);
    const [byIp, byAccount] = await Promise.all([emailChangeIp.hit(client), emailChangeAccount.hit(String(userId))]);
    const wait = Math.max(
      byIp.count > EMAIL_CHANGE_RULES.ip.points ? byIp.msLeft : 0,
      byAccount.count > EMAIL_CHANGE_RULES.account.points ? byAccount.msLeft : 0,
    );
    if (wait > 0) {
      await auditOnce(
        request,
        byIp.count > EMAIL_CHANGE_RULES.ip.points ? `email-change|${client}` : `email-change|user:${userId}`,
        null,
        wait,
      );
      throw rateLimited(wait);
    }
  });

  app.decorate('confirmationResendLimit', async function confirmationResendLimit(request: FastifyRequest, userId: number) {
    const used = await confirmationResend.hit(String(userId));
    if (used.count > CONFIRMATION_RESEND_RULE.points) {
      await auditOnce(request, `confirm-resend|user:${userId}`, null, used.msLeft);
      throw rateLimited(used.msLeft);
    }
  });

  app.decorate('addressTakenMailAllowed', async function addressTakenMailAllowed(userId: number) {
    return (await addressTakenMail.hit(String(userId))).count <= ADDRESS_TAKEN_MAIL_RULE.points;
  });

  app.decorate('passwordResetLimit', async function passwordResetLimit(request: FastifyRequest, email: string) {
    const client = clientKey(request.ip);
    const byIp = await resetIp.hit(client);
    if (byIp.count > PASSWORD_RESET_RULES.ip.points) {
      await auditOnce(request, `reset|${client}`, null, byIp.msLeft);
      throw rateLimited(byIp.msLeft);
    }
    // Keyed by a keyed digest: the shared store never holds the address, nor a hash anyone could match to one.
    const byAddress = await resetAddress.hit(createHmac('sha256', resetAddressKey).update(email).digest('hex').slice(0, 32));
    return byAddress.count <= PASSWORD_RESET_RULES.address.points;
  });

  app.decorate('writeLimit', createWriteLimit(limit, auditOnce, writeLimits));

  app.decorate('clientScan', async function clientScan<T>(request: FastifyRequest, work: () => Promise<T>): Promise<T> {
    const client = clientKey(request.ip);
    const done = scansInFlight.enter(client);
    if (done === null) {
      await auditOnce(request, `scans|${client}`, null, SCAN_RETRY_MS);
      throw rateLimited(SCAN_RETRY_MS);
    }
    try {
      return await work();
    } finally {
      done();
    }
  });

  app.addHook('onRequest', async function generalRateLimit(request) {
    const route = request.routeOptions.url;
    if (route !== undefined && EXEMPT_ROUTES.has(route)) return;
    // While the shared store (Redis) is unreachable, the general limit of a read is counted in
    // this process instead: never skipped, at worst N × 300 per minute across N instances. A
    // read spends no password guess and changes nothing, and failing it closed would let anyone
    // who can disturb Redis take every public page down. Everything else fails closed (503):
    // writes, and logins and registrations, whose limits protect accounts and must be shared.
    const client = clientKey(request.ip);
    const used = READ_METHODS.has(request.method) ? await general.hitOrCountLocally(client, generalLocal) : await general.hit(client);
    if (used.count > GENERAL_RULE.points) {
      // The first refusal of a window is audited; later ones in that window only answer 429.
      if (used.count === GENERAL_RULE.points + 1) {
        await app.audit(request, 'ratelimit.hit', { details: { limit: 'general', retryAfter: retryAfterSeconds(used.msLeft) } });
      }
      throw rateLimited(used.msLeft);
    }
  });
}
