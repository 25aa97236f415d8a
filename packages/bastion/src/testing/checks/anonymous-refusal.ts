import type { LightMyRequestResponse } from 'fastify';
import type { AppUnderTest } from '../app-under-test.js';
import type { CataloguedRoute } from '../route-catalogue.js';
import { concreteUrl, isGuarded, withoutHeadTwins, type CheckResult } from './route-requests.js';

// Deny by default, from outside: every route not declared public answers an anonymous caller
// with a refusal before its handler runs. The pages' face refuses with the login page (303 to
// it), any other face with 401. A route whose guard got lost (an onRoute hook of the app that
// replaced it, a hook that answers first) answers something else, and is named.

function refusalProblem(route: CataloguedRoute, res: LightMyRequestResponse, loginPage: string): string | null {
  const what = `${route.method} ${route.url} (declared ${route.access}) answered an anonymous caller ${res.statusCode}`;
  if (route.face === 'pages') {
    const location = String(res.headers.location ?? '');
    const toLogin = location === loginPage || location.startsWith(`${loginPage}?`);
    return res.statusCode === 303 && toLogin ? null : `${what}${location ? ` to ${location}` : ''}, not a 303 to ${loginPage}`;
  }
  return res.statusCode === 401 ? null : `${what}, not 401`;
}

export async function checkAnonymousRefusal(subject: AppUnderTest, options: { loginPage: string }): Promise<CheckResult> {
  const checked: string[] = [];
  const problems: string[] = [];
  for (const route of withoutHeadTwins(subject.routes).filter(isGuarded)) {
    const url = concreteUrl(route.url);
    const res = await subject.app.inject({ method: route.method as 'GET', url });
    checked.push(`${route.method} ${route.url}`);
    const problem = refusalProblem(route, res, options.loginPage);
    if (problem) problems.push(problem);
    // The HEAD Fastify adds beside each GET must carry the same guard.
    if (route.method === 'GET') {
      const head = await subject.app.inject({ method: 'HEAD', url });
      if (head.statusCode !== res.statusCode)
        problems.push(`HEAD ${route.url} answered an anonymous caller ${head.statusCode}, its GET ${res.statusCode}`);
    }
  }
  return { checked, problems };
}
