import type { FastifyInstance } from 'fastify';
import { AppError } from './app-error.js';

// Bodies are read as bytes and decoded strictly, so invalid UTF-8 is refused instead of being
// silently turned into U+FFFD; JSON then goes through Fastify's own parser (secure-json-parse,
// which refuses __proto__ and constructor.prototype keys).

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decode(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new AppError('INVALID_ENCODING');
  }
}

export function registerBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();

  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, function parseJsonBody(request, body, done) {
    let text: string;
    try {
      text = decode(body as Buffer);
    } catch (err) {
      return done(err as Error, undefined);
    }
    if (text.trim() === '') return done(null, undefined);
    // Called with a callback, the default parser answers through it and returns nothing.
    void parseJson(request, text, (err, value) => {
      if (err) return done(new AppError('MALFORMED_JSON'), undefined);
      done(null, value);
    });
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, function parseFormBody(_request, body, done) {
    let text: string;
    try {
      text = decode(body as Buffer);
    } catch (err) {
      return done(err as Error, undefined);
    }
    // A null-prototype object: a field called __proto__ is just a field.
    const fields: Record<string, string | string[]> = Object.create(null);
    for (const [key, raw] of new URLSearchParams(text)) {
      // Browsers send a textarea's line breaks as CRLF, while its maxlength counted each as one
      // character: store LF, so a text the form accepted is not refused as too long.
      const value = raw.replace(/\r\n?/g, '\n');
      const prev = fields[key];
      if (prev === undefined) fields[key] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else fields[key] = [prev, value];
    }
    done(null, fields);
  });
}
