import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BACKENDS,
  checkAnonymousRefusal,
  checkCsrfRefusal,
  checkHeaderCoverage,
  FuzzSession,
  fuzzSettingsFromEnv,
  openAppUnderTest,
  runAttackKit,
} from 'bastion/testing';
import { buildBrokenApp } from './helpers/broken-app.js';
import { conduitKit } from './helpers/conduit-kit.js';

// Conduit runs the attack kit (packages/bastion/src/testing/attack-kit.ts) as any app built on Bastion would:
// anonymous refusal, CSRF and headers here, the route fuzzer from apps/conduit/test/route-fuzz.test.ts (one
// fuzz run, not two). Then the kit is shown able to fail: Conduit plus four routes that each
// lose one defence the way app code can (apps/conduit/test/helpers/broken-app.ts), and each check names
// the route that lost it, and only that one.

runAttackKit({ ...conduitKit, defences: ['anonymous', 'csrf', 'headers'] });

const PAGES = { loginPage: '/login', signedInPage: '/settings' };

for (const backend of BACKENDS) {
  test(`[${backend}] the kit names a member route whose guard the app's own onRoute hook replaced: anonymous GET /broken/report answers 200`, async (t) => {
    const subject = await openAppUnderTest(buildBrokenApp, backend);
    t.after(() => subject.close());
    const { problems } = await checkAnonymousRefusal(subject, PAGES);
    assert.deepEqual(problems, ['GET /broken/report (declared member) answered an anonymous caller 200, not a 303 to /login']);
  });

  test(`[${backend}] the kit names a page route that acts in an onRequest hook, before the CSRF check: a post with no token or a foreign one answers 204`, async (t) => {
    const subject = await openAppUnderTest(buildBrokenApp, backend);
    t.after(() => subject.close());
    const { problems } = await checkCsrfRefusal(subject, PAGES);
    assert.deepEqual(problems, [
      'POST /broken/quick-action (declared member) answered a signed-in post with no token 204, not 403',
      "POST /broken/quick-action (declared member) answered a signed-in post with another session's token 204, not 403",
    ]);
  });

  test(`[${backend}] the kit names a route that writes its answer to the raw socket: GET /broken/export carries none of the security headers`, async (t) => {
    const subject = await openAppUnderTest(buildBrokenApp, backend);
    t.after(() => subject.close());
    const { problems } = await checkHeaderCoverage(subject, { ...PAGES, production: false });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /^GET \/broken\/export as anonymous \(200\): content-security-policy: missing/);
    assert.match(problems[1]!, /^GET \/broken\/export as admin \(200\): content-security-policy: missing/);
  });

  test(`[${backend}] the kit's fuzzer names a handler that throws on input its schema lets through: GET /broken/echo answers 500, with the request to replay`, async (t) => {
    const settings = { ...fuzzSettingsFromEnv({}, PAGES), runs: 5 };
    const session = await FuzzSession.start(
      { backend, builder: { module: new URL('./helpers/broken-app.ts', import.meta.url), exportName: 'buildBrokenApp' } },
      settings,
    );
    t.after(() => session.stop());
    const echo = session.routes.find((r) => r.method === 'GET' && r.url === '/broken/echo');
    assert.ok(echo, 'the fuzzer enumerated the broken app’s own routes');
    const { problems } = await session.fuzzRoute(echo);
    // The sweep finds it with a hostile number; the generated requests find it too, and say how to replay them.
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0]!, /^GET \/broken\/echo \(sweep\) answered 500:\n {4}GET \/broken\/echo\?q=/);
    assert.match(problems[1]!, /^GET \/broken\/echo answered 500:[\s\S]*replay: FUZZ_SEED=16 \(route seed \d+, path [\d:]+\)$/);
    assert.ok(await session.healthy(), 'a 500 is a finding; the server itself stays up');
  });
}
