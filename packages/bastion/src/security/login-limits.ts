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
// "IP" is the client key (packages/bastion/src/security/client-key.ts): an IPv6 client counts per /64.
//
// Counted first: check() adds the attempt to every count before the password is checked and
// refuses when a count is over, so parallel attempts cannot all pass a check that none of them
// has counted yet (each store counts atomically). A refused attempt takes its counts back; a
// successful one gives back its failure counts.
//
// OWASP device cookies (packages/bastion/src/security/device-cookies.ts): an attempt from a browser that signed
// in to the account before is exempt from the account's all-sources limits, so an attacker
// spreading guesses over many addresses cannot keep the owner out. It still meets the per-IP
// and account+IP limits, and its failures count against the device: past 10 in a day the
// device is trusted no more (a stolen cookie buys a thief 10 guesses, not a way round the limits).

export const LOGIN_RULES = {
  ipMinute: { name: 'login-ip-min', points: 5, duration: 60 },
  ipDay: { name: 'login-ip-day', points: 100, duration: 24 * 60 * 60 },
  // "Consecutive" is bounded by a day so a stale count cannot linger forever.
  accountIp: { name: 'login-acct-ip', points: 5, duration: 24 * 60 * 60 },
  accountWindow: { name: 'login-acct-15m', points: 10, duration: 15 * 60 },
  accountBackoff: { name: 'login-acct-backoff', points: 1, duration: 60 },
  accountHour: { name: 'login-acct-hour', points: 100, duration: 60 * 60 },
  device: { name: 'login-device', points: 10, duration: 24 * 60 * 60 },
} as const satisfies Record<string, LimitRule>;

export const ACCOUNT_IP_BLOCK_SECONDS = 15 * 60;

export interface LoginGuard {
  /**
   * Counts this attempt against every login limit before the password is checked; throws
   * AppError('RATE_LIMITED') with a Retry-After header (having taken its counts back) when it
   * must not proceed. `device` is the key of a valid device cookie for this very account
   * (DeviceCookies.trustedFor), or null.
   */
  check(request: FastifyRequest, account: string, device?: string | null): Promise<void>;
  /** The password was wrong: the attempt stays counted (counted now if check() was not called). */
  failed(request: FastifyRequest, account: string): Promise<void>;
  /** The password was right: the attempt's failure counts are given back and account+IP's consecutive failures cleared. */
  succeeded(request: FastifyRequest, account: string): Promise<void>;
  /**
   * A sign-in that names no account before it is verified (a passkey's assertion): counts the
   * attempt against the per-IP limits only, and refuses as check() does. A failure stays
   * counted; clientSucceeded() gives the counts back.
   */
  checkClient(request: FastifyRequest): Promise<void>;
  clientSucceeded(request: FastifyRequest): Promise<void>;
}

type Limits = { readonly [K in keyof typeof LOGIN_RULES]: Limit };
type Counted = readonly [Limit, string];

/** What check() counted for one request, settled by failed() or succeeded(). */
interface Reservation {
  readonly account: string;
  /** Counts of failures: given back when the password was right. */
  readonly failures: readonly Counted[];
  /** The account+IP count this attempt reached. */
  readonly pairCount: number;
  /** The trusted device and the count it reached, or null. */
  readonly device: { readonly key: string; readonly count: number; readonly msLeft: number } | null;
}

const reservations = new WeakMap<FastifyRequest, Reservation>();
/** What checkClient() counted for one request. */
const clientReservations = new WeakMap<FastifyRequest, readonly Counted[]>();

/** Emails and usernames are matched case-insensitively, so "Alice" and "alice" share a count. */
export const accountKey = (account: string): string => account.trim().toLowerCase().slice(0, 254);
// A client key (an IP, or an IPv6 /64) never contains "|", so the pair key cannot be forged from another pair.
const pairKey = (client: string, account: string): string => `${client}|${accountKey(account)}`;

/** Milliseconds to wait when the count is past the rule's points (counted first: the attempt itself is in it), else 0. */
const over = (c: Count, rule: LimitRule): number => (c.count > rule.points ? Math.max(c.msLeft, 1) : 0);

export function createLoginGuard(
  app: FastifyInstance,
  limits: Limits,
  auditOnce: (request: FastifyRequest, key: string, account: string | null, ms: number) => Promise<void>,
): LoginGuard {
  const giveBack = (counted: readonly Counted[]): Promise<unknown> => Promise.all(counted.map(([limit, key]) => limit.refund(key)));

  async function refuse(
    request: FastifyRequest,
    counted: readonly Counted[],
    auditKey: string,
    account: string | null,
    wait: number,
  ): Promise<never> {
    await giveBack(counted);
    await auditOnce(request, auditKey, account, wait);
    throw rateLimited(wait);
  }

  /** Counts the device's attempt; null (nothing counted) when the device has failed too often to be trusted. */
  async function trustDevice(key: string): Promise<Reservation['device']> {
    const used = await limits.device.hit(key);
    if (used.count <= LOGIN_RULES.device.points) return { key, count: used.count, msLeft: used.msLeft };
    await limits.device.refund(key);
    return null;
  }

  /** A failure counted without check() first (a caller that skipped it): every count, no refusal. */
  async function countFailure(request: FastifyRequest, acct: string): Promise<Reservation> {
    const client = clientKey(request.ip);
    const pair = pairKey(client, acct);
    const [, , , , failures] = await Promise.all([
      limits.ipMinute.hit(client),
      limits.ipDay.hit(client),
      limits.accountWindow.hit(acct),
      limits.accountHour.hit(acct),
      limits.accountIp.hit(pair),
    ]);
    return { account: acct, failures: [], pairCount: failures.count, device: null };
  }

  return {
    async check(request, account, device = null) {
      const acct = accountKey(account);
      const client = clientKey(request.ip);
      const pair = pairKey(client, acct);
      // This client's limits first: a refused client never touches the account's counts.
      const [ipMinute, ipDay, accountIp] = await Promise.all([
        limits.ipMinute.hit(client),
        limits.ipDay.hit(client),
        limits.accountIp.hit(pair),
      ]);
      const failures: Counted[] = [
        [limits.ipMinute, client],
        [limits.ipDay, client],
      ];
      const counted: Counted[] = [...failures, [limits.accountIp, pair]];
      // Refused until every limit that refuses has cleared: tell the longest wait.
      const clientWait = Math.max(
        over(ipMinute, LOGIN_RULES.ipMinute),
        over(ipDay, LOGIN_RULES.ipDay),
        over(accountIp, LOGIN_RULES.accountIp),
      );
      if (clientWait > 0) return refuse(request, counted, `login|${pair}`, acct, clientWait);

      const trusted = device === null ? null : await trustDevice(device);
      if (trusted !== null) {
        // The device's count is cleared on success rather than given back.
        counted.push([limits.device, trusted.key]);
      } else {
        const [recent, hour] = await Promise.all([limits.accountWindow.hit(acct), limits.accountHour.hit(acct)]);
        failures.push([limits.accountWindow, acct], [limits.accountHour, acct]);
        counted.push([limits.accountWindow, acct], [limits.accountHour, acct]);
        const hourWait = over(hour, LOGIN_RULES.accountHour);
        if (hourWait > 0) return refuse(request, counted, `login|${pair}`, acct, hourWait);
        if (recent.count > LOGIN_RULES.accountWindow.points) {
          // Backoff: one attempt per minute, whatever its outcome (the slot is not given back).
          const slot = await limits.accountBackoff.hit(acct);
          const slotWait = over(slot, LOGIN_RULES.accountBackoff);
          if (slotWait > 0) return refuse(request, [...counted, [limits.accountBackoff, acct]], `login-backoff|${acct}`, acct, slotWait);
        }
      }
      reservations.set(request, { account: acct, failures, pairCount: accountIp.count, device: trusted });
    },

    async failed(request, account) {
      const acct = accountKey(account);
      const reserved = reservations.get(request);
      reservations.delete(request);
      const attempt = reserved?.account === acct ? reserved : await countFailure(request, acct);
      // Exactly one attempt reaches the threshold (counts are atomic and each attempt holds its
      // own): block and audit once per block, not once per refused request.
      if (attempt.pairCount === LOGIN_RULES.accountIp.points) {
        await limits.accountIp.block(pairKey(clientKey(request.ip), acct), ACCOUNT_IP_BLOCK_SECONDS);
        await app.audit(request, 'login.lockout', {
          actorId: null,
          details: {
            scope: 'account+ip',
            identifier: typedIdentifier(acct),
            retryAfter: retryAfterSeconds(ACCOUNT_IP_BLOCK_SECONDS * 1000),
          },
        });
      }
      if (attempt.device !== null && attempt.device.count === LOGIN_RULES.device.points) {
        await app.audit(request, 'login.lockout', {
          actorId: null,
          details: { scope: 'device', identifier: typedIdentifier(acct), retryAfter: retryAfterSeconds(attempt.device.msLeft) },
        });
      }
    },

    async succeeded(request, account) {
      const acct = accountKey(account);
      const reserved = reservations.get(request);
      reservations.delete(request);
      const attempt = reserved?.account === acct ? reserved : null;
      await Promise.all([
        giveBack(attempt?.failures ?? []),
        limits.accountIp.clear(pairKey(clientKey(request.ip), acct)),
        attempt?.device ? limits.device.clear(attempt.device.key) : undefined,
      ]);
    },

    async checkClient(request) {
      const client = clientKey(request.ip);
      const [ipMinute, ipDay] = await Promise.all([limits.ipMinute.hit(client), limits.ipDay.hit(client)]);
      const counted: Counted[] = [
        [limits.ipMinute, client],
        [limits.ipDay, client],
      ];
      const wait = Math.max(over(ipMinute, LOGIN_RULES.ipMinute), over(ipDay, LOGIN_RULES.ipDay));
      if (wait > 0) return refuse(request, counted, `login|${client}`, null, wait);
      clientReservations.set(request, counted);
    },

    async clientSucceeded(request) {
      const counted = clientReservations.get(request) ?? [];
      clientReservations.delete(request);
      await giveBack(counted);
    },
  };
}
