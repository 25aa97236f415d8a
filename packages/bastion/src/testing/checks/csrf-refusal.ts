import { createUser } from '../accounts.js';
import type { AppUnderTest } from '../app-under-test.js';
import { TestClient } from '../test-client.js';
import { concreteUrl, signIn, UNSAFE_METHODS, withoutHeadTwins, type CheckResult } from './route-requests.js';

// CSRF, from outside: every unsafe route of the pages' face refuses, with 403, a signed-in
// caller's request that carries no token, and one that carries another session's token. The
// caller is an admin, so no access guard refuses first (a member's 403 on an admin route would
// prove nothing), and the request is otherwise as a real form post from the site would be
// (same Origin, Sec-Fetch-Site same-origin): only the token is wrong.

export interface CsrfCheckOptions {
  readonly loginPage: string;
  /** A page that shows a signed-in caller a form, to read that session's token from. */
  readonly signedInPage: string;
}

async function signedIn(subject: AppUnderTest, role: 'admin' | 'member', options: CsrfCheckOptions): Promise<TestClient> {
  const user = await createUser(subject.runtime, { role });
  const session = new TestClient(subject.app, { origin: subject.config.publicOrigin });
  await signIn(session, options.loginPage, user);
  return session;
}

export async function checkCsrfRefusal(subject: AppUnderTest, options: CsrfCheckOptions): Promise<CheckResult> {
  const checked: string[] = [];
  const problems: string[] = [];
  let admin = await signedIn(subject, 'admin', options);
  const foreignToken = await (await signedIn(subject, 'member', options)).csrf(options.signedInPage);
  const routes = withoutHeadTwins(subject.routes).filter((r) => r.face === 'pages' && UNSAFE_METHODS.has(r.method));
  for (const route of routes) {
    for (const [what, body] of [
      ['no token', ''],
      ["another session's token", new URLSearchParams({ _csrf: foreignToken }).toString()],
    ] as const) {
      const res = await admin.request({
        method: route.method,
        url: concreteUrl(route.url),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: subject.config.publicOrigin,
          'sec-fetch-site': 'same-origin',
        },
        body,
      });
      checked.push(`${route.method} ${route.url} with ${what}`);
      if (res.statusCode !== 403) {
        problems.push(
          `${route.method} ${route.url} (declared ${route.access}) answered a signed-in post with ${what} ${res.statusCode}, not 403`,
        );
        // Whatever the request did (signed out, changed the account), the next route gets a fresh caller.
        admin = await signedIn(subject, 'admin', options);
      }
    }
  }
  return { checked, problems };
}
