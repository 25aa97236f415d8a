import type { FastifyInstance, FastifyRequest } from 'fastify';
import { typedIdentifier } from '../audit/audit-log.js';
import { rateLimited, retryAfterSeconds, type Count, type Limit, type LimitRule } from './limit-store.js';
import { clientKey } from './client-key.js';

// The login limits of SPEC §3, after rate-limiter-flexible's "login endpoint protection" recipe:
//  - per IP: 5 failed per minute, 100 failed per day;
//  - per account+IP: 5 consecutive failures block that pair for 15 minutes (a success resets);
//  - per account from all sources: after 10 failures within 15 minutes only one attempt per
//    minute is let through (a backoff the owner can still get through, not a lockout), and
//    never more than 100 failed per hour.
// "IP" is the client key (src/security/client-key.ts): an IPv6 client counts per /64.
// Only failures are counted; check() reads the counts and refuses with 429 + Retry-After.

export const LOGIN_RULES = {
  ipMinute: { name: 'login-ip-min', points: 5, duration: 60 },
  ipDay: { name: 'login-ip-day', points: 100, duration: 24 * 60 * 60 },
  // "Consecutive" is bounded by a day so a stale count cannot linger forever.
  accountIp: { name: 'login-acct-ip', points: 5, duration: 24 * 60 * 60 },
  accountWindow: { name: 'login-acct-15m', points: 10, duration: 15 * 60 },
  accountBackoff: { name: 'login-acct-backoff', points: 1, duration: 60 },
  accountHour: { name: 'login-acct-hour', points: 100, duration: 60 * 60 },
} as const satisfies Record<string, LimitRule>;

export const ACCOUNT_IP_BLOCK_SECONDS = 15 * 60;

export interface LoginGuard {
  /** Throws AppError('RATE_LIMITED') with a Retry-After header when this attempt must not proceed. */
  check(request: FastifyRequest, account: string): Promise<void>;
  /** Counts a failed attempt for the IP, the account+IP and the account. */
  failed(request: FastifyRequest, account: string): Promise<void>;
  /** Clears the consecutive-failure count for account+IP. */
  succeeded(request: FastifyRequest, account: string): Promise<void>;
}

type Limits = { readonly [K in keyof typeof LOGIN_RULES]: Limit };

/** Emails and usernames are matched case-insensitively, so "Alice" and "alice" share a count. */
export const accountKey = (account: string): string => account.trim().toLowerCase().slice(0, 254);
// A client key (an IP, or an IPv6 /64) never contains "|", so the pair key cannot be forged from another pair.
const pairKey = (client: string, account: string): string => `${client}|${accountKey(account)}`;

const refuses = (c: Count, points: number): boolean => c.count >= points && c.msLeft > 0;

export function createLoginGuard(app: FastifyInstance, limits: Limits, auditOnce: (request: FastifyRequest, key: string, account: string, ms: number) => Promise<void>): LoginGuard {
  return {
    async check(request, account) {
      const acct = accountKey(account);
      const client = clientKey(request.ip);
      const pair = pairKey(client, account);
      const [ipMinute, ipDay, accountIp, accountHour] = await Promise.all([
        limits.ipMinute.peek(client),
        limits.ipDay.peek(client),
        limits.accountIp.peek(pair),
        limits.accountHour.peek(acct),
      ]);
      const waits = [
        refuses(ipMinute, LOGIN_RULES.ipMinute.points) ? ipMinute.msLeft : 0,
        refuses(ipDay, LOGIN_RULES.ipDay.points) ? ipDay.msLeft : 0,
        refuses(accountIp, LOGIN_RULES.accountIp.points) ? accountIp.msLeft : 0,
        refuses(accountHour, LOGIN_RULES.accountHour.points) ? accountHour.msLeft : 0,
      ];
      // Refused until every limit that refuses has cleared: tell the longest wait.
      const wait = Math.max(...waits);
      if (wait > 0) {
        await auditOnce(request, `login|${pair}`, acct, wait);
        throw rateLimited(wait);
      }
      const recent = await limits.accountWindow.peek(acct);
      if (refuses(recent, LOGIN_RULES.accountWindow.points)) {
        // Backoff: the first attempt in each minute goes through (atomically counted here).
        const slot = await limits.accountBackoff.hit(acct);
        if (slot.count > LOGIN_RULES.accountBackoff.points) {
          await auditOnce(request, `login-backoff|${acct}`, acct, slot.msLeft);
          throw rateLimited(slot.msLeft);
        }
      }
    },

    async failed(request, account) {
      const acct = accountKey(account);
      const client = clientKey(request.ip);
      await Promise.all([
        limits.ipMinute.hit(client),
        limits.ipDay.hit(client),
        limits.accountWindow.hit(acct),
        limits.accountHour.hit(acct),
      ]);
      const pair = pairKey(client, account);
      const failures = await limits.accountIp.hit(pair);
      // Exactly one failure reaches the threshold (the store counts atomically): block and
      // audit once per block, not once per refused request.
      if (failures.count === LOGIN_RULES.accountIp.points) {
        await limits.accountIp.block(pair, ACCOUNT_IP_BLOCK_SECONDS);
        await app.audit(request, 'login.lockout', {
          actorId: null,
          details: { scope: 'account+ip', identifier: typedIdentifier(acct), retryAfter: retryAfterSeconds(ACCOUNT_IP_BLOCK_SECONDS * 1000) },
        });
      }
    },

    async succeeded(request, account) {
      await limits.accountIp.clear(pairKey(clientKey(request.ip), account));
    },
  };
}
