import { createUser } from '../accounts.js';
import type { AppUnderTest } from '../app-under-test.js';
import { TestClient, type TestRequest } from '../test-client.js';
import { headerSetProblems } from '../security-header-set.js';
import { concreteUrl, signIn, withoutHeadTwins, type CheckResult } from './route-requests.js';

// SPEC §3's headers on every kind of answer the app gives, found from its routes rather than
// listed: each route as an anonymous caller (a page, or the refusal), each GET route as a
// signed-in admin (the guarded pages themselves), the 404 and a router error of the root and
// of every prefixed scope (the API's answer its own way), and a malformed body on a route of
// each face. None may be a 5xx. A handler that writes to the raw socket, or a hook that
// answers before the header hook, is named with the request that showed it.

export interface HeaderCheckOptions {
  readonly loginPage: string;
  readonly production: boolean;
}

const MISSING = '__bastion-attack-kit-nowhere';

function requestsFor(subject: AppUnderTest): Array<{ request: TestRequest; as: 'anonymous' | 'admin' }> {
  const routes = withoutHeadTwins(subject.routes);
  const out: Array<{ request: TestRequest; as: 'anonymous' | 'admin' }> = [];
  for (const route of routes) {
    out.push({ request: { method: route.method, url: concreteUrl(route.url) }, as: 'anonymous' });
    if (route.method === 'GET') out.push({ request: { method: 'GET', url: concreteUrl(route.url) }, as: 'admin' });
  }
  const prefixes = new Set(['', ...routes.map((r) => r.prefix)]);
  for (const prefix of prefixes) {
    out.push({ request: { url: `${prefix}/${MISSING}` }, as: 'anonymous' });
    // Bad percent-encoding: the router refuses it before any route hook runs.
    out.push({ request: { url: `${prefix}/%E0%A4%A` }, as: 'anonymous' });
  }
  for (const face of ['pages', 'other'] as const) {
    const post = routes.find((r) => r.face === face && r.method === 'POST');
    if (post)
      out.push({
        request: { method: 'POST', url: concreteUrl(post.url), headers: { 'content-type': 'application/json' }, body: '{"a":' },
        as: 'anonymous',
      });
  }
  return out;
}

export async function checkHeaderCoverage(subject: AppUnderTest, options: HeaderCheckOptions): Promise<CheckResult> {
  // Behind a production proxy the app sees HTTPS; plain HTTP would only get the redirect.
  const defaults: Record<string, string> = options.production ? { 'x-forwarded-proto': 'https' } : {};
  const user = await createUser(subject.runtime, { role: 'admin' });
  const admin = new TestClient(subject.app, { headers: defaults, origin: subject.config.publicOrigin });
  await signIn(admin, options.loginPage, user);
  const checked: string[] = [];
  const problems: string[] = [];
  for (const { request, as } of requestsFor(subject)) {
    // A fresh anonymous caller each time: no cookie from one answer changes the next.
    const res = await (as === 'admin' ? admin : new TestClient(subject.app, { headers: defaults })).request(request);
    const what = `${request.method ?? 'GET'} ${String(request.url)} as ${as} (${res.statusCode})`;
    checked.push(what);
    if (res.statusCode >= 500) problems.push(`${what}: a server error`);
    const missing = headerSetProblems(res.headers, options.production);
    if (missing.length > 0) problems.push(`${what}: ${missing.join('; ')}`);
  }
  return { checked, problems };
}
