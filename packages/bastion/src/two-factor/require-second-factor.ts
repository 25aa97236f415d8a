import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../db/schema.js';
import { AppError } from '../http/app-error.js';

// REQUIRE_TWO_FACTOR_FOR (e.g. "admin,moderator"): a signed-in user of a listed role without a
// second factor is sent to /settings/security to set one up before any other page works, so a
// stolen admin password alone is never enough for long. The routes that setting one up needs
// (the security pages, sign-out, re-authentication) say so in their config:
// `config: { access: 'member', secondFactorSetup: true }`. The API has no page to send anyone
// to: there a token of such a user is refused with 403 until a second factor is set up on the
// site, so a password alone never buys an admin's or a moderator's token either.

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

export const SECOND_FACTOR_NEEDED = 'must be set up on the site (Settings, Security) before this account can use the API';

export function registerSecondFactorRequirementForTokens(api: FastifyInstance, roles: readonly Role[]): void {
  if (roles.length === 0) return;
  const required = new Set<Role>(roles);
  api.addHook('preHandler', async function requireSecondFactorForToken(request: FastifyRequest) {
    const user = request.user;
    if (user === null || !required.has(user.role)) return;
    if (await api.twoFactor.required(user.id)) return;
    throw new AppError('FORBIDDEN', { 'second factor': [SECOND_FACTOR_NEEDED] });
  });
}
