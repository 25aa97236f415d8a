import { randomBytes } from 'node:crypto';
import { signerFactory } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { AppDb } from '../db/schema.js';
import { deriveKeys, sha256Hex } from '../sessions/derive-keys.js';

// OWASP "Slow Down Online Guessing Attacks with Device Cookies" (SPEC §3 "login backoff"): a
// browser that signs in to an account is given a cookie naming the account (by id, which never
// changes, unlike the email) and a random nonce, signed with a key derived from SECRET_KEY (any
// of SECRET_KEY_FALLBACKS verifies, as for every signed value here). A login to that account
// that carries it is exempt from the account's all-sources backoff (packages/bastion/src/security/login-limits.ts),
// so an attacker spreading guesses over many addresses cannot keep the owner out. The account's
// id is in the cookie's name too, so a browser shared by two accounts keeps a cookie for each.
// Only the HTML face sets it: the API is for token clients and reads no cookie.

/** A year: the exemption should outlive any break between two sign-ins. */
export const DEVICE_COOKIE_MAX_AGE = 365 * 24 * 60 * 60;
/** The signed value: the account id and 128 random bits. */
const SIGNED_VALUE = /^([1-9]\d{0,15})\.[\w-]{22}$/;
/** Longer than any cookie this module writes: not worth an HMAC. */
const COOKIE_MAX = 128;

export interface DeviceCookies {
  /**
   * The device's key when the request carries a valid device cookie for the account with this
   * (normalized) email, else null. Reads the account's id only when some device cookie is present.
   */
  trustedFor(request: FastifyRequest, email: string): Promise<string | null>;
  /** Gives the browser a new device cookie for the account (after every successful sign-in). */
  issue(reply: FastifyReply, userId: number): void;
}

export function deviceCookies(config: Config, db: AppDb): DeviceCookies {
  const signer = signerFactory(deriveKeys(config, 'device-cookie'));
  const prefix = config.cookieSecure ? '__Host-device-' : 'device-';
  const options = { path: '/', httpOnly: true, secure: config.cookieSecure, sameSite: 'strict', maxAge: DEVICE_COOKIE_MAX_AGE } as const;

  return {
    async trustedFor(request, email) {
      const cookies = request.cookies;
      if (!Object.keys(cookies).some((name) => name.startsWith(prefix))) return null;
      const account = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      if (!account) return null;
      const raw = cookies[`${prefix}${account.id}`];
      if (raw === undefined || raw.length > COOKIE_MAX) return null;
      const { valid, value } = signer.unsign(raw);
      // The signed value names the account as well: another account's cookie under this name fails.
      const id = valid && value !== null ? SIGNED_VALUE.exec(value)?.[1] : undefined;
      if (id === undefined || Number(id) !== account.id) return null;
      // The limit store keys on a digest, so it never holds the cookie itself.
      return sha256Hex(`device:${value}`).slice(0, 32);
    },

    issue(reply, userId) {
      reply.setCookie(`${prefix}${userId}`, signer.sign(`${userId}.${randomBytes(16).toString('base64url')}`), options);
    },
  };
}
