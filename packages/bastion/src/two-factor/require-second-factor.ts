import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../db/schema.js';

// REQUIRE_TWO_FACTOR_FOR (e.g. "admin,moderator"): a signed-in user of a listed role without a
// second factor is sent to /settings/security to set one up before any other page works, so a
// stolen admin password alone is never enough for long. The routes that setting one up needs
// (the security pages, sign-out, re-authentication) say so in their config:
// `config: { access: 'member', secondFactorSetup: true }`. Installed in the pages' scope only:
// the API has no page to send anyone to, and its tokens are made by a login that asked for the
// code whenever the account has one.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable by a user whom REQUIRE_TWO_FACTOR_FOR still asks to set up a second factor. */
    secondFactorSetup?: boolean;
  }
}

export function registerSecondFactorRequirement(pages: FastifyInstance, roles: readonly Role[]): void {
  if (roles.length === 0) return;
  const required = new Set<Role>(roles);
  pages.addHook('preHandler', async function requireSecondFactor(request: FastifyRequest, reply: FastifyReply) {
    const user = request.user;
    if (user === null || !required.has(user.role) || request.routeOptions.config.secondFactorSetup === true) return;
    if (await pages.twoFactor.required(user.id)) return;
    return reply.header('cache-control', 'no-store').redirect('/settings/security?done=required', 303);
  });
}
