import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { sealedBox } from '../security/sealed-box.js';
import { deriveKeys } from '../sessions/derive-keys.js';
import { ACCOUNT_TOKEN_LIFETIME_MS } from './account-tokens.js';

// Where a reset token waits between the link in the mail and the new-password form, so that it
// is in no URL after the first request (no history, no Referer, no log line of a later page):
// a cookie only /password/reset gets, httpOnly, encrypted and authenticated (src/security/sealed-box.ts, a
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
  const box = sealedBox(deriveKeys(config, 'reset-cookie'));
  const name = config.cookieSecure ? '__Secure-reset' : 'reset';
  const options = { path: PATH, httpOnly: true, secure: config.cookieSecure, sameSite: 'lax' } as const;

  return {
    set(reply, token) {
      reply.setCookie(name, box.seal(token), { ...options, maxAge: ACCOUNT_TOKEN_LIFETIME_MS.reset / 1000 });
    },
    read(request) {
      const raw = request.cookies[name];
      if (raw === undefined || raw.length > COOKIE_MAX) return null;
      return box.open(raw);
    },
    clear(reply) {
      reply.clearCookie(name, options);
    },
  };
}
