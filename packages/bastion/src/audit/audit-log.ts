import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime.js';

// The security events the SPEC names, each stored in audit_log (shown at /admin/audit) and
// written to the log. Never a secret: callers pass identifiers, not passwords or tokens. These
// are Bastion's; an application registers its own (createBastion's `auditEvents`; Conduit's
// content.moderate), checked at start, and an event registered by nobody is a bug that throws.

export const AUDIT_EVENTS = [
  'login.success',
  'login.failure',
  'login.lockout',
  'logout',
  'password.change',
  'email.change',
  'session.revoke',
  'token.revoke',
  'role.change',
  'account.lock',
  'account.unlock',
  'csrf.reject',
  'authz.deny',
  'ratelimit.hit',
  'register',
  'admin.created',
  // Account mail (packages/bastion/src/pages/password-reset-pages.ts): never the token, only whose and by whom.
  'password.reset.request',
  'password.reset.complete',
  // Re-authentication (packages/bastion/src/auth/reauth.ts): the method, never what was typed.
  'reauthenticate.success',
  'reauthenticate.failure',
  // The second factor (packages/bastion/src/two-factor): turned on or off by its owner, reset by an admin, a new
  // set of recovery codes, one spent.
  'two-factor.enable',
  'two-factor.disable',
  'two-factor.reset',
  'recovery-codes.regenerate',
  'recovery-code.use',
  // Passkeys (packages/bastion/src/pages/passkey-pages.ts): which passkey by name and id, never key material.
  'passkey.add',
  'passkey.rename',
  'passkey.remove',
  'passkey.failure',
  // Written by migration 007 when it renamed a later case twin of an older account's name.
  'username.rename',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];
/** A feature's own event, `<feature>:<event>`, declared with the feature (packages/bastion/src/features/define-feature.ts). */
export type FeatureAuditEvent = `${string}:${string}`;
/** Bastion's events, or one the application registered (any other name throws). */
export type AnyAuditEvent = AuditEvent | (string & Record<never, never>);

const EVENT_NAME = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*$/;
export const AUDIT_EVENT_MAX = 64;

export class AuditEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditEventError';
  }
}

/** Bastion's events then the application's, once each is checked: a dotted lower-case name, new, not too long. */
export function auditCatalogue(appEvents: readonly string[] = []): readonly string[] {
  const all = new Set<string>(AUDIT_EVENTS);
  const problems: string[] = [];
  for (const event of appEvents) {
    if (typeof event !== 'string' || !EVENT_NAME.test(event) || event.length > AUDIT_EVENT_MAX)
      problems.push(`'${String(event)}' is not a dotted lower-case name of at most ${AUDIT_EVENT_MAX} characters`);
    else if (all.has(event)) problems.push(`'${event}' is registered already`);
    all.add(event);
  }
  if (problems.length > 0) throw new AuditEventError(`audit events are refused: ${problems.join('; ')}`);
  return Object.freeze([...all]);
}

// The actor is named only by account id (actor_id; actor_name is that account's username, for
// reading): never by what a client typed. A login identifier — which may be a password typed
// into the email field — goes in details, clipped (typedIdentifier), so it cannot pass for an actor.

export interface AuditFields {
  /** The account that acted, or null for none. Defaults to request.user. */
  readonly actorId?: number | null;
  /** That account's username when the caller has it at hand (else it is read); ignored without an actorId. */
  readonly actorName?: string | null;
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Records a security event; never throws (a failed audit write is logged, not fatal). */
    audit(request: FastifyRequest, event: AnyAuditEvent | FeatureAuditEvent, fields?: AuditFields): Promise<void>;
    /** Every event audit() accepts: Bastion's, then the application's. */
    readonly auditEvents: readonly string[];
  }
}

const clip = (s: string | undefined, n: number): string => (s ?? '').slice(0, n);

/** Characters of a typed identifier kept in an audit row's details: enough to recognise an email, no more. */
export const TYPED_IDENTIFIER_MAX = 64;

/** What a client typed as a login identifier, bounded for an audit row's details (never for its actor). */
export const typedIdentifier = (typed: string): string =>
  typed.length > TYPED_IDENTIFIER_MAX ? `${typed.slice(0, TYPED_IDENTIFIER_MAX)}…` : typed;

/** `events`: the checked catalogue (auditCatalogue), Bastion's alone by default. */
export function registerAudit(app: FastifyInstance, runtime: Runtime, events: readonly string[] = AUDIT_EVENTS): void {
  const db = runtime.db.kysely;
  const known = new Set(events);
  app.decorate('auditEvents', events);
  const usernameOf = async (id: number): Promise<string | null> => {
    try {
      return (await db.selectFrom('users').select('username').where('id', '=', id).executeTakeFirst())?.username ?? null;
    } catch {
      return null; // the write below will log what is wrong with the database
    }
  };
  app.decorate('audit', async function audit(request: FastifyRequest, event: AnyAuditEvent | FeatureAuditEvent, fields: AuditFields = {}) {
    if (!known.has(event)) throw new AuditEventError(`audit event '${event}' is not registered (createBastion's auditEvents)`);
    const actorId = fields.actorId !== undefined ? fields.actorId : (request.user?.id ?? null);
    const actorName =
      actorId === null ? null : (fields.actorName ?? (request.user?.id === actorId ? request.user.username : await usernameOf(actorId)));
    const details = fields.details ?? {};
    request.log.info({ audit: event, actorId, actorName: actorName === null ? null : clip(actorName, 254), details }, `audit ${event}`);
    try {
      await db
        .insertInto('audit_log')
        .values({
          at: new Date().toISOString(),
          event,
          actor_id: actorId,
          actor_name: actorName === null ? null : clip(actorName, 254),
          ip: clip(request.ip, 64),
          user_agent: clip(request.headers['user-agent'], 512),
          details: JSON.stringify(details),
        })
        .execute();
    } catch (err) {
      request.log.error({ err, audit: event }, 'audit write failed');
    }
  });
}
