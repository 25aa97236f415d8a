// Values nobody writes a test for, by kind. Each list is what an attacker with the source at
// hand tries first: every spelling of a number Ajv or a parser might read differently, every
// encoding of `/` and `.` a path check might miss, text that trips encoders, and sizes.

/** Number spellings: non-finite, beyond 2^53, fractional, signed zero, other bases, padding. */
export const HOSTILE_NUMBERS: readonly string[] = [
  '1e400', '-1e400', '1e-400', 'Infinity', '-Infinity', 'NaN', '-0', '+0', '1.5', '0.0000001', '1e3', '1E3',
  '99999999999999999999', '9007199254740993', '2147483648', '-2147483649', '4294967296', '-1', '0',
  '0x10', '0b11', '0o7', '1_000', '00001', '+1', ' 1', '1 ', '\t1', '1,5', '١', '１', '', 'true', 'null', '[]', '{}',
];

/** Raw URL fragments for `/`, `\` and `.`, percent-encoded once, twice and as overlong UTF-8. */
export const HOSTILE_PATH_FRAGMENTS: readonly string[] = [
  '..', '.', '%2e', '%2E', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '%c0%ae%c0%ae', '%e0%80%ae',
  '%2f', '%2F', '%252f', '%252F', '%c0%af', '%e0%80%af', '%f0%80%80%af', '\\', '%5c', '%5C', '%255c', '%c1%9c',
  '..%2f', '..%5c', '%2e%2e%2f', '..\\..\\', '../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%00', '%', '%zz', '%e2%80%ae',
  '%ff', '%ed%a0%80', ';', ';jsessionid=x', '?', '#', '//', '///', '/.', '/..', 'a/../b', '~', '*',
];

/** Text that trips encoders, parsers, templates and databases. */
export const HOSTILE_STRINGS: readonly string[] = [
  '\0', 'a\0b', '\ud800', '\udfff', 'x\ud83dy', '\u202e', '\u202egnp.exe', '\u200b', '\u200d', '\ufeff', '\u0085', '\u2028', '\u2029',
  '\r\n', '\r\nSet-Cookie: x=1', 'e\u0301', 'İ', 'ß', 'ﬀ', '𝕏', '🦊'.repeat(50), '\u0000'.repeat(3),
  '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'; DROP TABLE users; --", "' OR '1'='1", '%s%s%s%n',
  '${7*7}', '{{7*7}}', '<%= 7*7 %>', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
  'javascript:alert(1)', '//evil.example/', '/\\evil.example', 'https://evil.example', '[x][y]: https://e.example\n'.repeat(40),
  ' ', '   ', '\t', '-', '.', '..', '/', '\\', '%', '%00', '%2e%2e%2f', 'NaN', 'Infinity', '1e400', 'null', 'undefined', 'true',
];

/** JSON literals JSON.stringify never writes, to put where a value goes in a body. */
export const HOSTILE_JSON_LITERALS: readonly string[] = [
  '1e400', '-1e400', '1e-400', '-0', '99999999999999999999', '1.5', '1E308', '123456789012345678901234567890',
  '"\\ud800"', '"\\u0000"', '"\\u202e"', '[]', '{}', 'null', 'true', '[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]',
  '{"__proto__":{"role":"admin"}}', '{"constructor":{"prototype":{"role":"admin"}}}',
];

/** Methods beside the route's own: the odd ones, and HEAD or GET where only POST is meant. */
export const ODD_METHODS: readonly string[] = ['OPTIONS', 'PROPFIND', 'TRACE', 'HEAD', 'GET', 'PATCH', 'PUT', 'DELETE', 'POST', 'MKCOL', 'SEARCH'];

/** Content types beside the right one. */
export const ODD_CONTENT_TYPES: readonly string[] = [
  'application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16',
  'application/json; charset=latin1', 'APPLICATION/JSON', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/xml', 'application/json, text/html', '',
];

/** Query strings written by hand: duplicate keys, bracket syntax, prototype keys, broken escapes, size. */
export const HOSTILE_QUERIES: readonly string[] = [
  'a=1&a=2', 'page=1&page=2', 'page[]=1', 'page[x]=1', 'page=1&page[]=2', '__proto__[role]=admin', 'constructor[prototype][x]=1',
  '=', '&&&', '=&=', '%', '%zz=1', 'page=%', 'q=%ff', 'q=%c0%af', 'q=%ed%a0%80', 'page', 'page=', 'utm_source=newsletter', 'fbclid=x',
  'key='.concat('k'.repeat(16_000)), 'key&'.repeat(3_000), 'q='.concat('a'.repeat(10_000)), Array.from({ length: 1_000 }, (_, i) => `k${i}=${i}`).join('&'),
];

/** A JSON text nested `depth` deep (arrays or objects). */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
