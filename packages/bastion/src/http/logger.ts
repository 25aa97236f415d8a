import type { FastifyServerOptions } from 'fastify';
import { stdoutDestination } from './log-destination.js';
import type { Writable } from 'node:stream';
import type { Config } from '../config/config.js';

// pino JSON logs. Secrets never reach them: every finished line is checked for keys that name
// a secret (at any depth, whatever serializer or binding produced them) and their values are
// replaced, and request URLs lose the values of query parameters whose names suggest a secret.
// This runs on the finished line because pino's path-based `redact` with wildcards cost about
// 50 µs per request (two lines), more than the rest of Fastify's work on a trivial route; the
// check below costs one regular-expression scan for a line that holds no such key.

// smtpUrl / SMTP_URL carry the SMTP login (Config, the environment); otp a second factor's code
// (the form's `code` is not listed: it is also the key of every error code in the log).
const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'secret',
  'csrf',
  '_csrf',
  'authorization',
  'cookie',
  'secretKey',
  'apiToken',
  'smtpUrl',
  'SMTP_URL',
  'otp',
];
const SECRET_KEYS: ReadonlySet<string> = new Set([...SECRET_FIELDS, 'set-cookie', 'x-csrf-token'].map((k) => k.toLowerCase()));
export const CENSOR = '[REDACTED]';

// A JSON key (pino never escapes letters in keys) that names a secret, compared without case.
const MAY_HOLD_SECRET = new RegExp(`"(?:${[...SECRET_KEYS].map((k) => k.replace(/[-_]/g, '\\$&')).join('|')})"\\s*:`, 'i');

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value === null || typeof value !== 'object') return value;
  // Null prototype: a "__proto__" key from the line stays an ordinary key.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEYS.has(key.toLowerCase()) ? CENSOR : scrub(v);
  return out;
}

/** The log line with the value of every secret-named key replaced; unchanged when it has none. */
export function redactLine(line: string): string {
  if (!MAY_HOLD_SECRET.test(line)) return line;
  try {
    return `${JSON.stringify(scrub(JSON.parse(line)))}\n`;
  } catch {
    // Not JSON after all: nothing of it is written rather than something unredacted.
    return `${JSON.stringify({ level: 50, time: Date.now(), msg: 'log line withheld: it could not be redacted' })}\n`;
  }
}

// Request URLs in the log: at most MAX_LOGGED_URL characters (a 16 KB query is kept as its
// start and a mark), and the value of each query parameter whose name suggests a secret
// replaced. One pass over the bounded text: a regular expression over the whole query that
// let `[^=&]*` try every start and length cost time quadratic in the length (70–95 ms of the
// event loop for 16 KB of repeated "key", on every request, refused ones included).
export const MAX_LOGGED_URL = 2048;
const SECRET_NAME = /password|token|secret|key|csrf|session/i;

// Paths whose last segment is a one-time token from a mail (account mail links): logged as the
// prefix and a mark, so the log never holds a live link.
const TOKEN_PATHS = ['/email/confirm/', '/password/reset/'] as const;

export function redactUrl(url: string): string {
  const bounded = url.length <= MAX_LOGGED_URL ? redactQuery(url) : `${redactQuery(url.slice(0, MAX_LOGGED_URL))}…[truncated]`;
  return redactTokenPath(bounded);
}

function redactTokenPath(url: string): string {
  const prefix = TOKEN_PATHS.find((p) => url.startsWith(p));
  if (prefix === undefined) return url;
  const rest = url.slice(prefix.length);
  const end = rest.search(/[?#]/);
  return end === -1 ? `${prefix}[REDACTED]` : `${prefix}[REDACTED]${rest.slice(end)}`;
}

// `pass%77ord` is `password` to the server, so it is to the redaction too.
function namesSecret(name: string): boolean {
  if (SECRET_NAME.test(name)) return true;
  if (!name.includes('%')) return false;
  try {
    return SECRET_NAME.test(decodeURIComponent(name));
  } catch {
    return false;
  }
}

function redactQuery(bounded: string): string {
  const start = bounded.indexOf('?');
  if (start === -1) return bounded;
  const hash = bounded.indexOf('#', start);
  const end = hash === -1 ? bounded.length : hash;
  let out = bounded.slice(0, start + 1);
  let from = start + 1;
  while (from <= end) {
    const amp = bounded.indexOf('&', from);
    const to = amp === -1 || amp > end ? end : amp;
    const pair = bounded.slice(from, to);
    const eq = pair.indexOf('=');
    out += eq !== -1 && namesSecret(pair.slice(0, eq)) ? `${pair.slice(0, eq + 1)}[REDACTED]` : pair;
    if (to === end) break;
    out += '&';
    from = to + 1;
  }
  return out + bounded.slice(end);
}

export function loggerOptions(config: Pick<Config, 'logLevel'>, stream?: Writable): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    stream: stream ?? stdoutDestination(),
    hooks: { streamWrite: redactLine },
    serializers: {
      req(req: { method: string; url: string; ip?: string; id?: string }) {
        return { method: req.method, url: redactUrl(req.url), ip: req.ip };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
    },
  };
}
