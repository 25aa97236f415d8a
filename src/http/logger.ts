import type { FastifyServerOptions } from 'fastify';
import type { Writable } from 'node:stream';
import type { Config } from '../config/config.js';

// pino JSON logs. Secrets never reach them: headers that carry credentials are redacted, and
// request URLs lose the values of query parameters whose names suggest a secret.

const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'token', 'secret', 'csrf', '_csrf', 'authorization', 'cookie', 'secretKey', 'apiToken'];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

const SECRET_QUERY = /([?&](?:[^=&]*(?:password|token|secret|key|csrf|session)[^=&]*)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[REDACTED]') : url;
}

export function loggerOptions(config: Config, stream?: Writable): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
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
