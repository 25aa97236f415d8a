import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { AppError } from '../http/app-error.js';
import { deriveKeys } from '../sessions/derive-keys.js';
import { clientKey } from './client-key.js';

// CSRF defence for every unsafe request in the scope it is registered in: the pages' (the API
// reads no cookies, so it has no CSRF surface). Two independent checks, both required:
//  1. Where the request came from: Sec-Fetch-Site must be same-origin or none, and Origin (or
//     else Referer) must be PUBLIC_ORIGIN. A foreign Origin is refused even with a good token.
//  2. A synchronizer token in the form field `_csrf`: an HMAC of the session id for a logged-in
//     session (so it changes whenever the id rotates), or for an anonymous visitor an HMAC of a
//     random value kept in a signed, HttpOnly pre-session cookie.
// The token a page prints is that HMAC masked afresh for every response (a random pad, then the
// HMAC XOR the pad, as Django does): a compressed HTTPS response that also reflects attacker
// input would otherwise leak the constant secret a byte at a time (BREACH).

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ALLOWED_FETCH_SITES = new Set(['same-origin', 'none']);
const ANON_VALUE = /^[\w-]{43}$/;
/** Bytes of an HMAC-SHA-256, and so of the pad that masks it. */
const SECRET_BYTES = 32;
/** The printed form of a masked token: pad and masked secret, base64url without padding. */
const MASKED_TOKEN = /^[\w-]{86}$/;

/** A fresh random pad followed by the secret XOR that pad: a different text for every response. */
function mask(secret: Buffer): string {
  const pad = randomBytes(SECRET_BYTES);
  const masked = Buffer.alloc(SECRET_BYTES * 2);
  pad.copy(masked);
  for (let i = 0; i < SECRET_BYTES; i++) masked[SECRET_BYTES + i] = pad[i]! ^ secret[i]!;
  return masked.toString('base64url');
}

/** The secret a masked token carries, or null when it is not one. */
function unmask(token: string): Buffer | null {
  // Node's base64url decoder skips characters it does not know: only the exact form is read.
  if (!MASKED_TOKEN.test(token)) return null;
  const masked = Buffer.from(token, 'base64url');
  const secret = Buffer.alloc(SECRET_BYTES);
  for (let i = 0; i < SECRET_BYTES; i++) secret[i] = masked[i]! ^ masked[SECRET_BYTES + i]!;
  return secret;
}

type Rejection = 'fetch-site' | 'origin' | 'referer' | 'missing-token' | 'bad-token';

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

export function registerCsrf(app: FastifyInstance, config: Config): void {
  const keys = deriveKeys(config, 'csrf');
  const signingKey = keys[0]!;
  const cookieName = config.cookieSecure ? '__Host-csrf' : 'csrf';
  const cookieOptions = { path: '/', httpOnly: true, secure: config.cookieSecure, sameSite: 'lax', signed: true } as const;

  const mac = (key: Buffer, binding: string): Buffer => createHmac('sha256', key).update(binding).digest();
  const binding = (request: FastifyRequest): string | null => {
    if (request.session) return `session:${request.session.idHash}`;
    const anon = anonymousValue(request);
    return anon === null ? null : `anonymous:${anon}`;
  };
  const anonymousValue = (request: FastifyRequest): string | null => {
    const raw = request.cookies[cookieName];
    if (raw === undefined) return null;
    const unsigned = request.unsignCookie(raw);
    return unsigned.valid && unsigned.value !== null && ANON_VALUE.test(unsigned.value) ? unsigned.value : null;
  };

  /** The token for the forms of this response; gives an anonymous visitor the cookie it needs. */
  function tokenFor(request: FastifyRequest, reply: FastifyReply): string {
    let bound = binding(request);
    if (bound === null) {
      const value = randomBytes(32).toString('base64url');
      reply.setCookie(cookieName, value, cookieOptions);
      request.cookies[cookieName] = reply.signCookie(value);
      bound = `anonymous:${value}`;
    }
    return mask(mac(signingKey, bound));
  }

  function tokenMatches(request: FastifyRequest, given: string): boolean {
    const bound = binding(request);
    if (bound === null) return false;
    const actual = unmask(given);
    if (actual === null) return false;
    // Any key may have made it: a form rendered just before a key rotation still posts.
    return keys.some((key) => timingSafeEqual(mac(key, bound), actual));
  }

  function rejection(request: FastifyRequest): Rejection | null {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && !ALLOWED_FETCH_SITES.has(String(site))) return 'fetch-site';
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (origin !== config.publicOrigin) return 'origin';
    } else {
      const referer = request.headers.referer;
      if (referer !== undefined && originOf(referer) !== config.publicOrigin) return 'referer';
    }
    const body = request.body as Record<string, unknown> | null | undefined;
    const given = body !== null && typeof body === 'object' ? body._csrf : undefined;
    if (typeof given !== 'string' || given === '') return 'missing-token';
    return tokenMatches(request, given) ? null : 'bad-token';
  }

  // Computed when a page prints it (`<%= it.csrfToken %>` turns the value into text), once: a
  // response that renders no page, or a page without a form (an article read anonymously),
  // computes no HMAC and sets no anonymous cookie.
  // An error page for a request refused before the cookie layer ran (a 503 from the limiter
  // while Redis is away), or outside the pages' scope (a health probe's), has no cookies to
  // bind to, and needs no form token.
  app.addViewLocal('csrfToken', function csrfToken(request, reply) {
    if (!request.cookies) return undefined;
    let token: string | undefined;
    return { toString: () => (token ??= tokenFor(request, reply)) };
  });

  // Callback style: safe methods and accepted requests go on without a promise.
  app.addHook('preValidation', function checkCsrf(request, _reply, done) {
    if (!UNSAFE.has(request.method)) return done();
    const reason = rejection(request);
    if (reason === null) return done();
    // Once a minute per client and reason: twenty junk posts are one row, not twenty.
    const details = { reason, method: request.method, path: request.routeOptions.url ?? 'unknown' };
    app
      .auditOncePerMinute(request, 'csrf.reject', `${clientKey(request.ip)}|${reason}`, { details })
      .then(() => done(new AppError('CSRF')), done);
  });
}
