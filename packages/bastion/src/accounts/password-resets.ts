import type { FastifyInstance, FastifyRequest } from 'fastify';
import { typedIdentifier } from '../audit/audit-log.js';
import type { Runtime } from '../runtime.js';

// Sending reset mail (SPEC §3, account mail). A request from "forgot password" is served off
// the response path: the page answers at once and identically, and only afterwards is the
// address looked up and, for a known unlocked account, a token issued and the mail queued. So
// neither the answer nor its time depends on whether the address has an account.

export type ResetMailOutcome = 'queued' | 'unknown' | 'locked' | 'limited' | 'mail-refused';

export interface PasswordResets {
  /** Starts the work for "forgot password" and returns at once; `mayMail` false (address limit) sends nothing. */
  requestByAddress(request: FastifyRequest, email: string, mayMail: boolean): void;
  /** An admin's "send a reset mail" for a user: done before the answer (the admin learns nothing new). */
  sendFor(request: FastifyRequest, userId: number): Promise<ResetMailOutcome>;
  /** Resolves when every started request is done (tests; shutdown). */
  settled(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    passwordResets: PasswordResets;
  }
}

export function registerPasswordResets(app: FastifyInstance, runtime: Runtime): void {
  const db = runtime.db.kysely;
  const origin = runtime.config.publicOrigin;
  const inFlight = new Set<Promise<void>>();

  async function mailTo(userId: number): Promise<{ outcome: ResetMailOutcome; username: string | null }> {
    const user = await db.selectFrom('users').select(['id', 'username', 'email', 'locked_at']).where('id', '=', userId).executeTakeFirst();
    if (!user) return { outcome: 'unknown', username: null };
    if (user.locked_at !== null) return { outcome: 'locked', username: user.username };
    const token = await app.accountTokens.issue(user.id, 'reset', user.email);
    const link = new URL(`/password/reset/${token}`, origin).href;
    const sent = app.mailer.send({ to: user.email, template: 'password-reset', data: { username: user.username, link } });
    return { outcome: sent.status === 'queued' ? 'queued' : 'mail-refused', username: user.username };
  }

  async function byAddress(request: FastifyRequest, email: string, mayMail: boolean): Promise<void> {
    const user = await db.selectFrom('users').select(['id']).where('email', '=', email).executeTakeFirst();
    if (!user) {
      // What was typed goes in details, clipped: it names no actor (packages/bastion/src/audit/audit-log.ts).
      await app.audit(request, 'password.reset.request', {
        actorId: null,
        details: { via: 'forgot', outcome: 'unknown', identifier: typedIdentifier(email) },
      });
      return;
    }
    const { outcome, username } = mayMail ? await mailTo(user.id) : { outcome: 'limited' as const, username: null };
    await app.audit(request, 'password.reset.request', {
      actorId: null,
      details: { via: 'forgot', outcome, account: user.id, ...(username ? { username } : {}) },
    });
  }

  app.decorate('passwordResets', {
    requestByAddress(request, email, mayMail) {
      const job = byAddress(request, email, mayMail)
        .catch((err: unknown) => request.log.error({ err }, 'password reset request failed'))
        .finally(() => inFlight.delete(job));
      inFlight.add(job);
    },
    async sendFor(request, userId) {
      const { outcome } = await mailTo(userId);
      await app.audit(request, 'password.reset.request', { details: { via: 'admin', outcome, account: userId } });
      return outcome;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
      await app.mailer.settled();
    },
  } satisfies PasswordResets);
  // preClose runs before the mailer's onClose drain, so a request in flight still gets its mail queued.
  app.addHook('preClose', async function finishResetRequests() {
    while (inFlight.size > 0) await Promise.all(inFlight);
  });
}
