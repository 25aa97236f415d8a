import fc from 'fast-check';
import { cookieHeader, nextClientAddress, type Fixtures, type IdentityName } from './fuzz-identities.js';
import { HOSTILE_NUMBERS, HOSTILE_PATH_FRAGMENTS, HOSTILE_QUERIES, ODD_CONTENT_TYPES, ODD_METHODS, deepJson } from './hostile-values.js';
import { DupKeys, Known, Raw, valueArb } from './schema-arbitraries.js';
import type { RawRequest } from './target-process.js';
import type { FuzzRoute } from './target-protocol.js';

// One generated request for one route, as data (so fast-check can print and replay it), and
// its rendering into raw HTTP for whoever the fuzzer speaks as at the moment it is sent.

export interface RequestSpec {
  readonly identity: IdentityName;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly wildcard: string | null;
  /** A query built from the schema, or one written by hand (Raw), or none. */
  readonly query: Record<string, unknown> | Raw | null;
  readonly body: unknown;
  readonly contentType: string | null;
  readonly csrf: 'real' | 'generated' | 'none';
  readonly headers: Record<string, string>;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Bodies are forms with a CSRF token in the pages' face, JSON anywhere else (the API), as the
// face's own clients send them; the face is the scope the route registered in, not its URL.
const isApi = (route: FuzzRoute): boolean => route.face !== 'pages';

const headerVariants: fc.Arbitrary<Record<string, string>> = fc.constantFrom<Record<string, string>>(
  {},
  {},
  {},
  { accept: 'application/json' },
  { accept: 'text/html' },
  { origin: 'https://evil.example' },
  { 'sec-fetch-site': 'cross-site' },
  { origin: 'null' },
  { referer: 'https://evil.example/x' },
  { authorization: 'Token ' + 'A'.repeat(5_000) },
  { authorization: 'Bearer x' },
  { authorization: 'Token' },
  { cookie: 'session=' + 'x'.repeat(4_000) },
  { cookie: 'session=s%3A..; csrf=%ff' },
  { 'accept-encoding': 'gzip, deflate, br' },
  { range: 'bytes=0-0,1-1,2-2' },
  { 'if-none-match': '*' },
  { 'x-forwarded-proto': 'http' },
  { 'content-encoding': 'gzip' },
  { 'x-http-method-override': 'DELETE' },
);

export function requestSpecArb(route: FuzzRoute, knownNames: ReadonlySet<string>): fc.Arbitrary<RequestSpec> {
  const paramNames = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const paramProps = route.schema.params?.properties ?? {};
  const params = fc.record(
    Object.fromEntries(paramNames.map((name) => [name, valueArb(paramProps[name] ?? { type: 'string' }, name, 'text', knownNames)])),
  );
  const wildcard = route.url.includes('*')
    ? fc.oneof(
        fc.constantFrom('style.css', 'app.css', 'nothing-here', ''),
        fc
          .array(
            fc.oneof(
              fc.constantFrom(...HOSTILE_PATH_FRAGMENTS),
              fc.constantFrom('etc', 'passwd', 'style.css', '.env', 'package.json', 'src', 'x'),
            ),
            { minLength: 1, maxLength: 6 },
          )
          .map((parts) => parts.join('/')),
      )
    : fc.constant(null);
  const schemaQuery = route.schema.querystring ? valueArb(route.schema.querystring, '', 'text', knownNames) : fc.constant({});
  const query = fc.oneof(
    {
      weight: 5,
      arbitrary: schemaQuery.map((q) =>
        q !== null && typeof q === 'object' && !Array.isArray(q) && !(q instanceof Raw) ? (q as Record<string, unknown>) : { q },
      ),
    },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_QUERIES).map((q) => new Raw(q)) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  const api = isApi(route);
  const bodyPart = api ? 'json' : 'text';
  const body = route.schema.body
    ? fc.oneof(
        { weight: 6, arbitrary: valueArb(route.schema.body, '', bodyPart, knownNames) },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom('', '{', '%', 'a=%ff', '{"a":1,"a":2}', deepJson(50_000, 'array'), '_csrf=a&_csrf=b', 'x'.repeat(1_100_000))
            .map((t) => new Raw(t)),
        },
      )
    : fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.constant(new Raw('{"a":1}')), fc.constant({ a: '1' }));
  const method = fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, { weight: 2, arbitrary: fc.constantFrom(...ODD_METHODS) });
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constantFrom(...ODD_CONTENT_TYPES) },
  );
  const identity = fc.constantFrom<IdentityName>('anonymous', 'anonymous', 'member', 'member', 'member', 'admin');
  const csrf = fc.constantFrom<RequestSpec['csrf']>('real', 'real', 'real', 'real', 'generated', 'none');
  return fc.record({ identity, method, params, wildcard, query, body, contentType, csrf, headers: headerVariants });
}

/** Percent-encodes everything but unreserved characters; a lone surrogate becomes its (invalid) UTF-8-style bytes. */
export function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    if (/^[\w\-.~]$/.test(ch)) out += ch;
    else {
      const code = ch.codePointAt(0)!;
      const bytes =
        code >= 0xd800 && code <= 0xdfff
          ? Buffer.from([0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63)])
          : Buffer.from(ch, 'utf8');
      for (const b of bytes) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

function resolve(value: unknown, fixtures: Fixtures): unknown {
  if (value instanceof Known) return fixtures.known[value.name]?.[0] ?? 'nobody';
  return value;
}

/** A text value (path segment, query or form value) as it goes on the wire. */
function textOnWire(value: unknown, fixtures: Fixtures): string {
  const v = resolve(value, fixtures);
  if (v instanceof Raw) return v.text;
  if (v instanceof DupKeys) return percentEncode(JSON.stringify(Object.fromEntries(v.pairs)));
  if (typeof v === 'string') return percentEncode(v);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return percentEncode(JSON.stringify(v));
  return percentEncode(String(v));
}

/** key=value pairs: an array repeats the key, an object uses bracket keys (`a[b]=…`). */
function pairsOnWire(key: string, value: unknown, fixtures: Fixtures, depth = 0): string[] {
  const v = resolve(value, fixtures);
  const k = percentEncode(key);
  if (Array.isArray(v))
    return v.flatMap((item) => (depth < 2 ? pairsOnWire(key, item, fixtures, depth + 1) : [`${k}=${textOnWire(item, fixtures)}`]));
  if (v !== null && typeof v === 'object' && !(v instanceof Raw) && !(v instanceof DupKeys) && depth < 2) {
    return Object.entries(v).flatMap(([sub, item]) => pairsOnWire(`${key}[${sub}]`, item, fixtures, depth + 1));
  }
  return [`${k}=${textOnWire(v, fixtures)}`];
}

/** JSON with room for what JSON.stringify never writes: raw literals and duplicate keys. */
function jsonOnWire(value: unknown, fixtures: Fixtures): string {
  const v = resolve(value, fixtures);
  if (v instanceof Raw) return v.text;
  if (v instanceof DupKeys) return `{${v.pairs.map(([k, item]) => `${JSON.stringify(k)}:${jsonOnWire(item, fixtures)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map((item) => jsonOnWire(item, fixtures)).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, item]) => `${JSON.stringify(k)}:${jsonOnWire(item, fixtures)}`)
      .join(',')}}`;
  if (v === undefined) return 'null';
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return JSON.stringify(v);
}

export function renderRequest(route: FuzzRoute, spec: RequestSpec, fixtures: Fixtures, origin: string): RawRequest {
  const identity = fixtures.identities[spec.identity];
  let path = route.url.replace(/:(\w+)/g, (_m, name: string) => textOnWire(spec.params[name], fixtures));
  if (spec.wildcard !== null) path = path.replace('*', spec.wildcard);
  if (!path.startsWith('/')) path = '/' + path;
  if (spec.query instanceof Raw) path += `?${spec.query.text}`;
  else if (spec.query && Object.keys(spec.query).length > 0)
    path +=
      '?' +
      Object.entries(spec.query)
        .flatMap(([k, v]) => pairsOnWire(k, v, fixtures))
        .join('&');

  const api = isApi(route);
  const headers: Record<string, string> = { 'x-forwarded-for': nextClientAddress(), 'user-agent': 'bastion-route-fuzz' };
  if (identity.jar.size > 0) headers.cookie = cookieHeader(identity.jar);
  // Both credentials on both faces: the API must ignore the cookie and the pages the token.
  if (identity.token) headers.authorization = `Token ${identity.token}`;

  let body: Buffer | undefined;
  const carriesBody = spec.body !== undefined && spec.method !== 'GET' && spec.method !== 'HEAD';
  if (carriesBody) {
    if (api) {
      body = Buffer.from(jsonOnWire(spec.body, fixtures));
      headers['content-type'] = 'application/json';
    } else {
      const fields = spec.body instanceof Raw ? null : ((resolve(spec.body, fixtures) ?? {}) as Record<string, unknown>);
      let text: string;
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields))
        text = spec.body instanceof Raw ? spec.body.text : textOnWire(fields, fixtures);
      else {
        const entries = Object.entries(fields).filter(([k]) => !(k === '_csrf' && spec.csrf !== 'generated'));
        if (spec.csrf === 'real' && identity.csrf) entries.push(['_csrf', identity.csrf]);
        text = entries.flatMap(([k, v]) => pairsOnWire(k, v, fixtures)).join('&');
      }
      body = Buffer.from(text);
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
  } else if (!api && UNSAFE.has(spec.method) && spec.csrf === 'real' && identity.csrf) {
    body = Buffer.from(`_csrf=${percentEncode(identity.csrf)}`);
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (!api && UNSAFE.has(spec.method)) headers.origin = origin;
  if (spec.contentType !== null && body !== undefined) {
    if (spec.contentType === '') delete headers['content-type'];
    else headers['content-type'] = spec.contentType;
  }
  for (const [k, v] of Object.entries(spec.headers)) headers[k] = k === 'cookie' && headers.cookie ? `${headers.cookie}; ${v}` : v;
  return { method: spec.method, path, headers, ...(body !== undefined ? { body } : {}) };
}

/** A short account of a request for a failure message (long parts cut, lengths said). */
export function describeRequest(req: RawRequest, identity: IdentityName): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
  const headers = Object.entries(req.headers)
    .filter(([k]) => !['x-forwarded-for', 'user-agent', 'cookie', 'authorization'].includes(k))
    .map(([k, v]) => `${k}: ${cut(v, 80)}`);
  return [
    `${req.method} ${cut(req.path, 300)} as ${identity}`,
    ...headers,
    ...(req.body ? [`body: ${cut(req.body.toString('utf8'), 300)}`] : []),
  ].join('\n    ');
}

/**
 * Besides the random requests: every hostile number through every query field and path
 * parameter, whatever its schema says it holds (a number may be declared as text, or through a
 * keyword of ours such as queryInteger), and every encoding of `/` and `.` through every path
 * parameter of a GET route, once each, as a member. A random draw might take thousands of runs
 * to pair `page` with `1e400`; the sweep pairs them on every run.
 */
export function sweepSpecs(route: FuzzRoute): RequestSpec[] {
  const base: RequestSpec = {
    identity: 'member',
    method: route.method,
    params: {},
    wildcard: null,
    query: null,
    body: undefined,
    contentType: null,
    csrf: 'real',
    headers: {},
  };
  const paramNames = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const knownParams = Object.fromEntries(paramNames.map((n) => [n, new Known(n)]));
  const specs: RequestSpec[] = [];
  for (const name of Object.keys(route.schema.querystring?.properties ?? {})) {
    for (const value of HOSTILE_NUMBERS) specs.push({ ...base, params: knownParams, query: { [name]: value } });
  }
  for (const name of paramNames) {
    const values = [
      ...HOSTILE_NUMBERS.map((v) => new Raw(percentEncode(v))),
      ...(route.method === 'GET' ? HOSTILE_PATH_FRAGMENTS.map((f) => new Raw(f)) : []),
    ];
    for (const value of values) specs.push({ ...base, params: { ...knownParams, [name]: value } });
  }
  return specs;
}
