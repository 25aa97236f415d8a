import type { FastifyRequest } from 'fastify';
import { AppError } from '../http/app-error.js';
import { rateLimited, type Limit, type LimitRule } from './limit-store.js';

// The content-write limits of SPEC §3, per account (not per IP: one member's token is enough to
// write from anywhere): articles 10 a minute, comments 30 a minute, profile and email changes 10
// an hour. Every write costs storage that every reader then pays for, and an article's body a
// Markdown render on the renderer threads (src/content/markdown-pool.ts), so one member could
// otherwise load the server for everyone. Counted in the limit store (Redis when configured), so
// the counts hold across instances; counted before the write, so parallel requests cannot slip
// past the check. Only the HTTP faces count: seeding and other direct service calls do not.

export const WRITE_RULES = {
  // Creating and editing an article both count: an edit re-renders up to 100 KB of Markdown
  // and rewrites the stored HTML, exactly the cost a new article has.
  article: { name: 'write-article', points: 10, duration: 60 },
  comment: { name: 'write-comment', points: 30, duration: 60 },
  // A save of the settings or PUT /api/user, whatever it changes.
  profile: { name: 'write-profile', points: 10, duration: 60 * 60 },
} as const satisfies Record<string, LimitRule>;

export type WriteKind = keyof typeof WRITE_RULES;

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts one `kind` write for the signed-in user; AppError RATE_LIMITED (429 + Retry-After) past the limit. */
    writeLimit(request: FastifyRequest, kind: WriteKind): Promise<void>;
  }
}

type AuditOnce = (request: FastifyRequest, key: string, account: string | null, ms: number) => Promise<void>;

export function createWriteLimit(limit: (rule: LimitRule) => Limit, auditOnce: AuditOnce): (request: FastifyRequest, kind: WriteKind) => Promise<void> {
  const limits: Readonly<Record<WriteKind, Limit>> = {
    article: limit(WRITE_RULES.article),
    comment: limit(WRITE_RULES.comment),
    profile: limit(WRITE_RULES.profile),
  };
  return async function writeLimit(request, kind) {
    // Every write route requires a member before its handler runs; this is the backstop.
    const user = request.user;
    if (!user) throw new AppError('UNAUTHORIZED');
    const used = await limits[kind].hit(String(user.id));
    if (used.count > WRITE_RULES[kind].points) {
      // Audited once a minute per account and kind; the actor is the signed-in member.
      await auditOnce(request, `${WRITE_RULES[kind].name}|${user.id}`, null, used.msLeft);
      throw rateLimited(used.msLeft);
    }
  };
}
