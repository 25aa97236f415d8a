import fc from 'fast-check';
import { HOSTILE_JSON_LITERALS, HOSTILE_NUMBERS, HOSTILE_PATH_FRAGMENTS, HOSTILE_STRINGS, deepJson } from './hostile-values.js';
import type { JsonSchema } from './target-protocol.js';

// fast-check arbitraries from a route's own JSON Schema: most values fit the schema (so the
// request gets past validation to the handler), the rest break it on purpose (wrong type,
// out of range, too long, hostile text). Two kinds of input: `text` (path parameters, query
// strings, form fields: everything arrives as text, a repeated key as an array) and `json`.

export type Part = 'text' | 'json';

/** Inserted as written: an already percent-encoded URL fragment, or a JSON literal. */
export class Raw {
  constructor(readonly text: string) {}
}
/** The current real value for a name (an existing slug, username, comment id): read when sent. */
export class Known {
  constructor(readonly name: string) {}
}
/** A JSON object written with the same key more than once. */
export class DupKeys {
  constructor(readonly pairs: ReadonlyArray<readonly [string, unknown]>) {}
}

const types = (schema: JsonSchema): string[] =>
  schema.type === undefined ? [] : Array.isArray(schema.type) ? [...(schema.type as string[])] : [schema.type as string];

/** Valid and invalid values for `schema`, `name` being the field or parameter it belongs to. */
export function valueArb(
  schema: JsonSchema | undefined,
  name: string,
  part: Part,
  knownNames: ReadonlySet<string>,
  depth = 0,
): fc.Arbitrary<unknown> {
  const fitting = fittingArb(schema ?? {}, name, part, knownNames, depth);
  return fc.oneof({ weight: 6, arbitrary: fitting }, { weight: 4, arbitrary: hostileArb(schema ?? {}, part, depth) });
}

function fittingArb(schema: JsonSchema, name: string, part: Part, knownNames: ReadonlySet<string>, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return fc.oneof(...variants.map((s) => fittingArb(s, name, part, knownNames, depth)));
  const options: fc.Arbitrary<unknown>[] = [];
  if (knownNames.has(name)) options.push(fc.constant(new Known(name)), fc.constant(new Known(name)));
  // Our keyword for numbers in a URL (packages/bastion/src/http/query-integer.ts): digits within its bounds.
  if (schema.queryInteger) options.push(numberArb(schema.queryInteger, 'integer', part));
  for (const type of types(schema)) {
    if (type === 'string') options.push(stringArb(schema));
    else if (type === 'integer' || type === 'number') options.push(numberArb(schema, type, part));
    else if (type === 'boolean') options.push(part === 'text' ? fc.constantFrom('true', 'false') : fc.boolean());
    else if (type === 'null') options.push(fc.constant(part === 'text' ? '' : null));
    else if (type === 'array')
      options.push(
        fc.array(valueArb(schema.items, name, part, knownNames, depth + 1), { maxLength: Math.min((schema.maxItems ?? 5) + 1, 8) }),
      );
    else if (type === 'object' && depth < 4) options.push(objectArb(schema, part, knownNames, depth + 1));
  }
  if (options.length === 0) options.push(stringArb({}));
  return fc.oneof(...options);
}

function stringArb(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? 40, 40));
  const options: fc.Arbitrary<string>[] = [
    fc.string({ minLength, maxLength }),
    fc.string({ minLength, maxLength, unit: 'binary' }),
    fc.string({ minLength, maxLength, unit: 'grapheme' }),
  ];
  if (schema.pattern) options.push(fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }));
  if (schema.maxLength !== undefined) options.push(fc.constant('a'.repeat(schema.maxLength)));
  return fc.oneof(...options);
}

function numberArb(schema: JsonSchema, type: string, part: Part): fc.Arbitrary<unknown> {
  const min = schema.minimum ?? -(2 ** 31);
  const max = schema.maximum ?? 2 ** 31;
  const ints = fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max), fc.integer({ min, max: Math.min(max, min + 10) }));
  const values = type === 'number' ? fc.oneof(ints, fc.double({ min, max, noNaN: true })) : ints;
  return part === 'text' ? values.map(String) : values;
}

function objectArb(schema: JsonSchema, part: Part, knownNames: ReadonlySet<string>, depth: number): fc.Arbitrary<unknown> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const fields = properties.map(([key, sub]) =>
    fc.tuple(fc.constant(key), required.has(key) ? fc.constant(true) : fc.boolean(), valueArb(sub, key, part, knownNames, depth)),
  );
  return fc.tuple(fc.tuple(...fields), fc.option(extraKeysArb(part), { freq: 4 })).map(([entries, extra]) => {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, present, value] of entries) if (present) out[key] = value;
    if (extra) for (const [key, value] of extra) out[key] = value;
    return out;
  });
}

/** Fields nobody declared: links carry utm_*, attackers try role and id. */
function extraKeysArb(part: Part): fc.Arbitrary<Array<[string, unknown]>> {
  const key = fc.constantFrom(
    'utm_source',
    'fbclid',
    'role',
    'id',
    'admin',
    'user_id',
    '__proto__',
    'constructor',
    '_csrf',
    'x'.repeat(300),
  );
  const value =
    part === 'text'
      ? fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...HOSTILE_NUMBERS))
      : fc.oneof(fc.string({ maxLength: 10 }), fc.constant({ role: 'admin' }), fc.integer());
  return fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 3 });
}

function hostileArb(schema: JsonSchema, part: Part, depth: number): fc.Arbitrary<unknown> {
  const maxLength = schema.maxLength ?? 64;
  const long = fc.constantFrom(maxLength + 1, maxLength * 4 + 7, 70_000).map((n) => 'x'.repeat(n));
  const common: fc.Arbitrary<unknown>[] = [fc.constantFrom(...HOSTILE_STRINGS), fc.constantFrom(...HOSTILE_NUMBERS), long];
  if (part === 'text') {
    return fc.oneof(
      ...common,
      fc.constantFrom(...HOSTILE_PATH_FRAGMENTS).map((t) => new Raw(t)),
      fc.array(fc.constantFrom(...HOSTILE_NUMBERS, ...HOSTILE_STRINGS.slice(0, 8)), { minLength: 2, maxLength: 4 }),
      fc.array(fc.constant('1'), { minLength: 200, maxLength: 400 }),
    );
  }
  return fc.oneof(
    ...common,
    fc.constantFrom(...HOSTILE_JSON_LITERALS).map((t) => new Raw(t)),
    fc.constantFrom(0, -1, 1.5, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, true, false, null),
    fc.constant([]),
    fc.constant({}),
    fc.array(fc.string({ maxLength: 3 }), { minLength: 500, maxLength: 2_000 }),
    fc.constantFrom(20, 300, 20_000).map((d) => new Raw(deepJson(d, depth % 2 === 0 ? 'array' : 'object'))),
    fc.constant(
      new DupKeys([
        ['a', 1],
        ['a', 2],
      ]),
    ),
  );
}
