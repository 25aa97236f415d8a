// Where to go after logging in. Only a path on this site: it starts with one "/", and nothing a
// browser could read as another host — no "//", no backslash (browsers treat "/\" as "//"), no
// control characters (they are stripped, so "/\t/evil" would become "//evil"), no scheme.
// Anything else goes to "/": an open redirect would lend our name to a phishing page.
// The rule is applied to the value that is sent, after URL normalisation: "/..//evil.example/"
// and "/%2e%2e//evil.example/" normalise to "//evil.example/", a host to every browser.

const SITE = 'http://site.invalid';
const MAX_NEXT = 2048;
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const UNSAFE_CHARACTER = /[\\\u0000-\u001f\u007f]/;

const isSitePath = (path: string): boolean => path.startsWith('/') && !path.startsWith('//') && !UNSAFE_CHARACTER.test(path);

export function safeNext(next: string | undefined): string {
  if (next === undefined || next.length > MAX_NEXT || !isSitePath(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, SITE);
  } catch {
    return '/';
  }
  if (url.origin !== SITE) return '/';
  const path = url.pathname + url.search + url.hash;
  return isSitePath(path) ? path : '/';
}
