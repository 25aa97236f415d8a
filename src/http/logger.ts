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

const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'token', 'secret', 'csrf', '_csrf', 'authorization', 'cookie', 'secretKey', 'apiToken'];
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

const SECRET_QUERY = /([?&](?:[^=&]*(?:password|token|secret|key|csrf|session)[^=&]*)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[REDACTED]') : url;
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
