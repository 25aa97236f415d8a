import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { sealedBox } from '../security/sealed-box.js';
import { deriveKeys } from '../sessions/derive-keys.js';
import { ACCOUNT_TOKEN_LIFETIME_MS } from './account-tokens.js';

// Where a token from a mailed link waits between the link and the form that spends it (a new
// password, a "Confirm" button), so that it is in no URL after the first request (no history,
// no Referer, no log line of a later page): a cookie only that form's path gets, httpOnly,
// encrypted and authenticated (packages/bastion/src/security/sealed-box.ts, with a key derived from SECRET_KEY for
// this cookie alone; any fallback key still opens it), living no longer than the token. SameSite=Lax, not
// Strict: the link is opened from a mail client, a cross-site navigation, and the redirect that
// follows must carry the cookie.

export interface TokenCookieSpec {
  /** The cookie's name (`__Secure-` is put before it when cookies are Secure); also its key's label. */
  readonly name: string;
  /** The token-free page that reads it; the only path the browser sends it to. */
  readonly path: string;
  readonly maxAgeMs: number;
}

/** The reset link's token, for /password/reset (packages/bastion/src/pages/password-reset-pages.ts). */
export const RESET_COOKIE: TokenCookieSpec = { name: 'reset', path: '/password/reset', maxAgeMs: ACCOUNT_TOKEN_LIFETIME_MS.reset };
/**
 * A confirmation link's token, for /email/confirm (packages/bastion/src/pages/email-pages.ts): shorter than the
 * link (24 h) since it only spans the look at one page; the link itself works again meanwhile.
 */
export const CONFIRM_COOKIE: TokenCookieSpec = { name: 'confirm', path: '/email/confirm', maxAgeMs: 30 * 60_000 };

/** Longer than any value this module writes (12 + 16 + 43 bytes, base64url): not worth decrypting. */
const COOKIE_MAX = 160;

export interface TokenCookie {
  set(reply: FastifyReply, token: string): void;
  /** The token the request carries, or null (none, tampered, made under a retired key). */
  read(request: FastifyRequest): string | null;
  clear(reply: FastifyReply): void;
}

export function tokenCookie(config: Config, spec: TokenCookieSpec): TokenCookie {
  const box = sealedBox(deriveKeys(config, `${spec.name}-cookie`));
  const name = config.cookieSecure ? `__Secure-${spec.name}` : spec.name;
  const options = { path: spec.path, httpOnly: true, secure: config.cookieSecure, sameSite: 'lax' } as const;

  return {
    set(reply, token) {
      reply.setCookie(name, box.seal(token), { ...options, maxAge: spec.maxAgeMs / 1000 });
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
