import type { ErrorObject, FuncKeywordDefinition } from 'ajv';

// Numbers in a URL (query strings and path parameters) are read here and nowhere else. Ajv's own
// coercion is `+text`: it takes "1e400" (Infinity, on which it checks neither minimum nor maximum),
// "0x10", " 1", "+1" and "1e3"; a page of Infinity once ran the pager's loop forever. This keyword
// accepts plain decimal digits only, within the route's bounds, and hands the route a number.
// packages/bastion/src/http/validation.ts refuses, when a route is registered, any `number` or `integer` type in a
// query string or path schema, so every URL number comes through queryInteger().

export const QUERY_INTEGER = 'queryInteger';

export interface IntegerBounds {
  readonly minimum: number;
  readonly maximum: number;
}

/** What Ajv passes a compiled keyword: the value and where it sits, so it can be replaced. */
interface Place {
  readonly parentData?: Record<string | number, unknown>;
  readonly parentDataProperty: string | number;
}
type Check = ((data: unknown, place?: Place) => boolean) & { errors?: Partial<ErrorObject>[] };

const DIGITS = /^\d+$/;
// Longer text is refused unread (the bounds are safe integers, at most 16 digits).
const MAX_TEXT = 20;

function checkBounds({ minimum, maximum }: IntegerBounds, fallback?: number): void {
  if (!Number.isSafeInteger(minimum) || !Number.isSafeInteger(maximum) || minimum < 0 || minimum > maximum) {
    throw new RangeError(`queryInteger: bounds must be safe integers with 0 <= minimum <= maximum (got ${minimum}..${maximum})`);
  }
  if (fallback !== undefined && (!Number.isSafeInteger(fallback) || fallback < minimum || fallback > maximum)) {
    throw new RangeError(`queryInteger: default ${fallback} is outside ${minimum}..${maximum}`);
  }
}

/**
 * The schema of a whole number in a query string or path: `queryInteger({ minimum: 1, maximum:
 * 1000, default: 1 })`. The route receives a number; anything but digits within the bounds
 * (a sign, a space, a dot, an exponent, hex, a repeated parameter) is a 422.
 */
export function queryInteger(options: IntegerBounds & { readonly default?: number }): {
  readonly queryInteger: IntegerBounds;
  readonly default?: string;
} {
  const { minimum, maximum, default: fallback } = options;
  checkBounds({ minimum, maximum }, fallback);
  // The default goes in as text, as a client would send it, so it takes the same path.
  return { [QUERY_INTEGER]: { minimum, maximum }, ...(fallback === undefined ? {} : { default: String(fallback) }) } as const;
}

/** The number `text` names, or null unless it is plain digits within the bounds. */
export function parseQueryInteger(text: unknown, { minimum, maximum }: IntegerBounds): number | null {
  if (typeof text !== 'string' || text.length > MAX_TEXT || !DIGITS.test(text)) return null;
  const value = Number(text);
  return value >= minimum && value <= maximum ? value : null;
}

/** The Ajv keyword behind queryInteger(): checks the text and puts the number in its place. */
export const queryIntegerKeyword: FuncKeywordDefinition = {
  keyword: QUERY_INTEGER,
  schemaType: 'object',
  metaSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['minimum', 'maximum'],
    properties: { minimum: { type: 'integer' }, maximum: { type: 'integer' } },
  },
  modifying: true,
  errors: true,
  compile(bounds: IntegerBounds) {
    checkBounds(bounds);
    const error = {
      keyword: QUERY_INTEGER,
      message: `must be a whole number from ${bounds.minimum} to ${bounds.maximum}`,
      params: { ...bounds },
    };
    const check: Check = function queryIntegerCheck(data, place) {
      const value = parseQueryInteger(data, bounds);
      // Only a field of an object can be replaced by its number.
      if (value === null || place?.parentData === undefined) {
        check.errors = [error];
        return false;
      }
      place.parentData[place.parentDataProperty] = value;
      return true;
    };
    return check;
  },
};
