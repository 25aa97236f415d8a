// Where to go after logging in. Only a path on this site: it starts with one "/", and nothing a
// browser could read as another host — no "//", no backslash (browsers treat "/\" as "//"), no
// control characters (they are stripped, so "/\t/evil" would become "//evil"), no scheme.
// Anything else goes to "/": an open redirect would lend our name to a phishing page.

const SITE = 'http://site.invalid';

export function safeNext(next: string | undefined): string {
  if (next === undefined || next === '' || next.length > 2048) return '/';
  if (!next.startsWith('/') || next.startsWith('//')) return '/';
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, SITE);
  } catch {
    return '/';
  }
  if (url.origin !== SITE) return '/';
  return url.pathname + url.search + url.hash;
}
