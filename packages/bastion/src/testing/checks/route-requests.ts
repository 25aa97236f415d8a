import type { CataloguedRoute } from '../route-catalogue.js';
import type { TestClient } from '../test-client.js';

/**
 * A URL for a route pattern that the router matches: `:id` becomes 1, any other parameter a
 * word, `*` a segment. A guard, the CSRF check and the header hook all run before validation,
 * so what the value means does not matter to them.
 */
export const concreteUrl = (url: string): string => url.replace(/:id\b/g, '1').replace(/:\w+/g, 'someone').replace('*', 'x');

export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Routes declared for someone in particular (vendor routes declare nothing and are public by registration). */
export const isGuarded = (route: CataloguedRoute): boolean => route.access !== undefined && route.access !== 'public';

/** The routes a check sends a request to: HEAD twins of GET routes are sent with their GET. */
export const withoutHeadTwins = (routes: readonly CataloguedRoute[]): CataloguedRoute[] => {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  return routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
};

export interface CheckResult {
  /** What was sent, one line per request: how the caller proves the check reached every route. */
  readonly checked: string[];
  /** What was wrong, one line each; empty when the defence held everywhere. */
  readonly problems: string[];
}

/** Signs `client` in through the login form, as a browser without JavaScript does; throws unless it worked. */
export async function signIn(client: TestClient, loginPage: string, user: { email: string; password: string }): Promise<void> {
  // The page's token, whatever its form's action: an app's login form may post elsewhere.
  const _csrf = await client.csrf(loginPage);
  const res = await client.post(loginPage, { email: user.email, password: user.password, _csrf }, { csrf: false });
  if (res.statusCode !== 303)
    throw new Error(`attack kit: signing in at ${loginPage} answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
}
