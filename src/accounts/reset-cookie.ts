import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { deriveKeys } from '../sessions/derive-keys.js';
import { ACCOUNT_TOKEN_LIFETIME_MS } from './account-tokens.js';

// Where a reset token waits between the link in the mail and the new-password form, so that it
// is in no URL after the first request (no history, no Referer, no log line of a later page):
// a cookie only /password/reset gets, httpOnly, encrypted and authenticated (AES-256-GCM with a
// key derived from SECRET_KEY; any fallback key still opens it), living no longer than the
// token. SameSite=Lax, not Strict: the link is opened from a mail client, a cross-site
// navigation, and the redirect that follows must carry the cookie.

const PATH = '/password/reset';
/** Longer than any value this module writes (12 + 16 + 43 bytes, base64url): not worth decrypting. */
const COOKIE_MAX = 160;

export interface ResetCookie {
  set(reply: FastifyReply, token: string): void;
  /** The token the request carries, or null (none, tampered, made under a retired key). */
  read(request: FastifyRequest): string | null;
  clear(reply: FastifyReply): void;
}

export function resetCookie(config: Config): ResetCookie {
  const keys = deriveKeys(config, 'reset-cookie');
  const name = config.cookieSecure ? '__Secure-reset' : 'reset';
  const options = { path: PATH, httpOnly: true, secure: config.cookieSecure, sameSite: 'lax' } as const;

  const open = (raw: string): string | null => {
    const bytes = Buffer.from(raw, 'base64url');
    if (bytes.length < 12 + 16 + 1) return null;
    for (const key of keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
        decipher.setAuthTag(bytes.subarray(12, 28));
        return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        // not this key
      }
    }
    return null;
  };

  return {
    set(reply, token) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys[0]!, iv);
      const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
      const value = Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
      reply.setCookie(name, value, { ...options, maxAge: ACCOUNT_TOKEN_LIFETIME_MS.reset / 1000 });
    },
    read(request) {
      const raw = request.cookies[name];
      if (raw === undefined || raw.length > COOKIE_MAX) return null;
      return open(raw);
    },
    clear(reply) {
      reply.clearCookie(name, options);
    },
  };
}
