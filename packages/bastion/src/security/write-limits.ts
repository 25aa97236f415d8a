import type { FastifyRequest } from 'fastify';
import { AppError } from '../http/app-error.js';
import { rateLimited, type Limit, type LimitRule } from './limit-store.js';

// The content-write limits of SPEC §3, per account (not per IP: one member's token is enough to
// write from anywhere). Every write costs storage that every reader then pays for, so one member
// could otherwise load the server for everyone. Bastion's own kind is the account's profile and
// email (10 an hour); an application registers its own kinds (createBastion's `writeLimits`;
// Conduit: articles 10 a minute, comments 30 a minute), checked at start. Counted in the limit
// store (Redis when configured), so the counts hold across instances; counted before the write,
// so parallel requests cannot slip past the check. Only the HTTP faces count: seeding and other
// direct service calls do not.

export const WRITE_RULES = {
  // A save of the settings or PUT /api/user, whatever it changes.
  profile: { name: 'write-profile', points: 10, duration: 60 * 60 },
} as const satisfies Record<string, LimitRule>;

export type WriteKind = keyof typeof WRITE_RULES;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts one `kind` write for the signed-in user; AppError RATE_LIMITED (429 + Retry-After)
     * past the limit. `kind` is Bastion's or one the application registered; any other throws.
     */
    writeLimit(request: FastifyRequest, kind: WriteKind | (string & Record<never, never>)): Promise<void>;
  }
}

/** An application's write limit: at most `points` writes per account in `duration` seconds. */
export interface WriteLimitOption {
  readonly points: number;
  readonly duration: number;
}

export class WriteLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WriteLimitError';
  }
}

const KIND = /^[a-z][a-z0-9-]{0,31}$/;
const DAY_S = 24 * 60 * 60;

/** Bastion's rules and the application's, checked: a new lower-case kind, whole positive numbers, a window of at most a day. */
export function writeRules(appLimits: Readonly<Record<string, WriteLimitOption>> = {}): Readonly<Record<string, LimitRule>> {
  const problems: string[] = [];
  const rules: Record<string, LimitRule> = { ...WRITE_RULES };
  for (const [kind, option] of Object.entries(appLimits)) {
    const { points, duration } = option ?? {};
    if (!KIND.test(kind) || Object.hasOwn(rules, kind)) problems.push(`'${kind}' is not a new lower-case name`);
    if (!Number.isSafeInteger(points) || points < 1) problems.push(`'${kind}': points must be a whole number above 0`);
    if (!Number.isSafeInteger(duration) || duration < 1 || duration > DAY_S)
      problems.push(`'${kind}': duration must be whole seconds, 1 to ${DAY_S}`);
    // The store key's family: `write-` keeps it apart from every other limit's counters.
    rules[kind] = Object.freeze({ name: `write-${kind}`, points, duration });
  }
  if (problems.length > 0) throw new WriteLimitError(`write limits are refused: ${problems.join('; ')}`);
  return Object.freeze(rules);
}

type AuditOnce = (request: FastifyRequest, key: string, account: string | null, ms: number) => Promise<void>;

export function createWriteLimit(
  limit: (rule: LimitRule) => Limit,
  auditOnce: AuditOnce,
  rules: Readonly<Record<string, LimitRule>> = WRITE_RULES,
): (request: FastifyRequest, kind: string) => Promise<void> {
  const limits = new Map(Object.entries(rules).map(([kind, rule]) => [kind, { rule, counter: limit(rule) }]));
  return async function writeLimit(request, kind) {
    const found = limits.get(kind);
    if (found === undefined) throw new WriteLimitError(`write kind '${kind}' is not registered (createBastion's writeLimits)`);
    // Every write route requires a member before its handler runs; this is the backstop.
    const user = request.user;
    if (!user) throw new AppError('UNAUTHORIZED');
    const used = await found.counter.hit(String(user.id));
    if (used.count > found.rule.points) {
      // Audited once a minute per account and kind; the actor is the signed-in member.
      await auditOnce(request, `${found.rule.name}|${user.id}`, null, used.msLeft);
      throw rateLimited(used.msLeft);
    }
  };
}
