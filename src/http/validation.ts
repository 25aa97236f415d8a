import Ajv from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

// Bodies are validated exactly as sent: no type coercion (an array where a string belongs is
// an error, not silently its first element) and no unknown fields (a request cannot smuggle in
// a role or an id). Query strings and path parameters arrive as text, so those may coerce.

const common = { allErrors: false, useDefaults: true, strict: true, removeAdditional: false } as const;
const bodyAjv = new Ajv.default({ ...common, coerceTypes: false });
const textAjv = new Ajv.default({ ...common, coerceTypes: true });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object);
};
