import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { type ListeningApp, openSession, startListeningApp, useBrowser } from './helpers/chromium.js';

// The browser proof is only as good as its detectors. These tests feed the watcher pages that
// misbehave on purpose (served on the app's own origin with the app's CSP) and expect each
// misbehaviour to be caught; then they check the real home page is clean.

const browser = useBrowser();

/** The Content-Security-Policy the app serves its pages with, read off its home page. */
async function appCsp(target: ListeningApp): Promise<string> {
  const csp = (await target.app.inject('/')).headers['content-security-policy'];
  assert.ok(typeof csp === 'string' && csp.includes("script-src 'self'"), `the app's CSP: ${String(csp)}`);
  return csp;
}

for (const backend of BACKENDS) {
  test(`[${backend}] the watcher catches an inline script blocked by the CSP, an executed payload, a dialog and a console error`, async (t) => {
    const target = await startListeningApp(t, backend);
    const session = await openSession(t, browser(), target);
    const page = await session.newPage();
    const csp = await appCsp(target);
    const fake =
      (html: string, withCsp = true) =>
      (route: import('playwright-core').Route) =>
        route.fulfill({
          status: 200,
          contentType: 'text/html',
          headers: withCsp ? { 'content-security-policy': csp } : {},
          body: html,
        });

    await page.route('**/fake-csp', fake('<p>x</p><script>window.__xss = 1</script><img src=x onerror="window.__xss=2">'));
    await session.visit(page, '/fake-csp');
    const blocked = session.fresh();
    assert.ok(
      blocked.some((p) => p.kind === 'csp'),
      `CSP violation not seen: ${JSON.stringify(blocked)}`,
    );
    assert.ok(!blocked.some((p) => p.kind === 'xss'), 'the CSP must have stopped the inline script');

    await page.route('**/fake-open', fake('<script>window.__xss = 1; alert(1); console.error("boom"); null.x</script>', false));
    await session.visit(page, '/fake-open');
    const kinds = new Set(session.fresh().map((p) => p.kind));
    for (const kind of ['xss', 'dialog', 'console', 'pageerror'] as const) assert.ok(kinds.has(kind), `${kind} not seen`);

    session.problems.length = 0; // the misbehaviour above was the point; don't fail in t.after
  });

  test(`[${backend}] with JavaScript off the watcher still sees CSP violations through the console`, async (t) => {
    const target = await startListeningApp(t, backend);
    const session = await openSession(t, browser(), target, { javaScriptEnabled: false });
    const page = await session.newPage();
    const csp = await appCsp(target);
    await page.route('**/fake-style', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/html',
        headers: { 'content-security-policy': csp },
        body: '<p style="color:red">x</p><style>p{}</style>',
      }),
    );
    await session.visit(page, '/fake-style');
    assert.ok(session.fresh().some((p) => p.kind === 'console' && /Content Security Policy/i.test(p.detail)));
    session.problems.length = 0;
  });

  test(`[${backend}] the home page loads with zero CSP violations, console errors or outside requests`, async (t) => {
    const target = await startListeningApp(t, backend);
    const session = await openSession(t, browser(), target);
    const page = await session.visit(await session.newPage(), '/');
    assert.match(await page.title(), /Conduit/);
    const css = await page.evaluate(() => getComputedStyle(document.body).getPropertyValue('margin'));
    assert.equal(typeof css, 'string');
    await session.screenshot(page, 'home-empty');
    session.assertClean('the home page');
    assert.deepEqual(session.externalRequests, []);
  });
}
