// SPEC §3's header set, written out here on purpose rather than imported from
// packages/bastion/src/http/security-headers.ts: a check that read the values it checks would pass whatever
// they were weakened to. Used by the attack kit and by apps/conduit/test/security-headers.test.ts.

type Headers = Readonly<Record<string, string | string[] | number | undefined>>;

export const EXPECTED_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; object-src 'none'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const REFERRER_POLICIES: ReadonlySet<string> = new Set(['strict-origin-when-cross-origin', 'strict-origin', 'same-origin', 'no-referrer']);
export const EXPECTED_HSTS = 'max-age=31536000; includeSubDomains';

/** What is wrong with a response's headers, one line each; empty when the set is whole. */
export function headerSetProblems(headers: Headers, production: boolean): string[] {
  const problems: string[] = [];
  const expect = (name: string, ok: (value: string | undefined) => boolean, wanted: string): void => {
    const raw = headers[name];
    const value = raw === undefined ? undefined : String(raw);
    if (!ok(value)) problems.push(`${name}: ${value === undefined ? 'missing' : JSON.stringify(value)}, wanted ${wanted}`);
  };
  expect('content-security-policy', (v) => v === EXPECTED_CSP, JSON.stringify(EXPECTED_CSP));
  expect('x-content-type-options', (v) => v === 'nosniff', 'nosniff');
  // The default, or a stricter one a route chose (a link carrying a token sends no Referer at all).
  expect('referrer-policy', (v) => v !== undefined && REFERRER_POLICIES.has(v), 'strict-origin-when-cross-origin or stricter');
  expect(
    'permissions-policy',
    (v) => v !== undefined && /camera=\(\).*geolocation=\(\).*microphone=\(\)/.test(v),
    'camera, geolocation and microphone off',
  );
  expect('cross-origin-opener-policy', (v) => v === 'same-origin', 'same-origin');
  expect('cross-origin-resource-policy', (v) => v === 'same-origin', 'same-origin');
  // The legacy XSS auditor could itself be abused to leak data: absent, or "0" to turn it off.
  expect('x-xss-protection', (v) => v === undefined || v === '0', 'absent or 0');
  expect('x-powered-by', (v) => v === undefined, 'absent');
  expect('server', (v) => v === undefined, 'absent');
  if (production) expect('strict-transport-security', (v) => v === EXPECTED_HSTS, EXPECTED_HSTS);
  else expect('strict-transport-security', (v) => v === undefined, 'absent outside production (HSTS only in production)');
  return problems;
}
