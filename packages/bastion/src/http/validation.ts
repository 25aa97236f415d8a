import Ajv from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { QUERY_INTEGER, queryIntegerKeyword } from './query-integer.js';

// Bodies are validated exactly as sent: no type coercion (an array where a string belongs is
// an error, not silently its first element) and no unknown fields (a request cannot smuggle in
// a role or an id). Query strings and path parameters arrive as text: strings may coerce, and
// numbers are read only by queryInteger() (packages/bastion/src/http/query-integer.ts). A query string keeps
// only the parameters its route knows: links carry `utm_*` and `fbclid`, and a shared link must
// not break (SPEC §3 "query strings").

const common = { allErrors: false, useDefaults: true, strict: true } as const;
const bodyAjv = new Ajv.default({ ...common, coerceTypes: false, removeAdditional: false });
const pathAjv = new Ajv.default({ ...common, coerceTypes: true, removeAdditional: false, keywords: [queryIntegerKeyword] });
const queryAjv = new Ajv.default({ ...common, coerceTypes: true, removeAdditional: 'all', keywords: [queryIntegerKeyword] });

const NUMERIC = new Set(['number', 'integer']);

/** Where in a URL schema a `number` or `integer` type hides, or null if nowhere. */
export function numericTypeIn(schema: unknown, at = '#'): string | null {
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) {
      const found = numericTypeIn(item, `${at}/${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (schema === null || typeof schema !== 'object') return null;
  const { type } = schema as { type?: unknown };
  if ((typeof type === 'string' && NUMERIC.has(type)) || (Array.isArray(type) && type.some((t) => NUMERIC.has(t)))) return at;
  for (const [key, value] of Object.entries(schema)) {
    // The keyword's own arguments and defaults are data, not schemas.
    if (key === QUERY_INTEGER || key === 'default' || key === 'enum' || key === 'const') continue;
    const found = numericTypeIn(value, `${at}/${key}`);
    if (found !== null) return found;
  }
  return null;
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart, method, url }) => {
  if (httpPart === 'body') return bodyAjv.compile(schema as object);
  // Refused when the route is registered: Ajv's number coercion is the bug queryInteger() fixes.
  const numeric = numericTypeIn(schema);
  if (numeric !== null)
    throw new TypeError(
      `${method} ${url}: the ${httpPart} schema has a number type at ${numeric}; use queryInteger() from src/http/query-integer.ts`,
    );
  return (httpPart === 'querystring' ? queryAjv : pathAjv).compile(schema as object);
};
