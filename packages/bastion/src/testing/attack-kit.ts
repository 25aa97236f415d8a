import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { openAppUnderTest, type AppBuilder } from './app-under-test.js';
import { BACKENDS, type BackendName } from './backends.js';
import { checkAnonymousRefusal } from './checks/anonymous-refusal.js';
import type { CheckResult } from './checks/route-requests.js';
import { checkCsrfRefusal } from './checks/csrf-refusal.js';
import { checkHeaderCoverage } from './checks/header-coverage.js';
import type { KnownContent } from './fuzz/fuzz-identities.js';
import { FuzzSession, fuzzSettingsFromEnv } from './fuzz/route-fuzz.js';
import type { CataloguedRoute } from './route-catalogue.js';

// The attack kit: an app built on Bastion runs it in its own test suite, and Bastion's
// defences are proven on that app's routes, not only on Conduit's. It registers one node:test
// test per defence and backend; each finds the routes as the app registers them, so a route
// added tomorrow is attacked without anyone listing it. The check functions it runs are
// exported too (packages/bastion/src/testing/index.ts), for a test that wants to see one fail.

export type Defence = 'anonymous' | 'csrf' | 'headers' | 'fuzz';
export const DEFENCES: readonly Defence[] = ['anonymous', 'csrf', 'headers', 'fuzz'];

export interface AttackKitOptions {
  /** The app's name, in the test names. */
  readonly name: string;
  /** Builds the app for a test on an open runtime, with buildApp's shape. */
  readonly build: AppBuilder;
  /** The module exporting that builder, and the export's name: the fuzzer starts the app in a process of its own from it. */
  readonly builderModule: { readonly module: URL | string; readonly exportName: string };
  /** The app's own settings, over the kit's test configuration. */
  readonly env?: Record<string, string>;
  /** Default: both (BASTION_TEST_BACKENDS narrows them). */
  readonly backends?: readonly BackendName[];
  /** Default: all. A big app may run the fuzz from a test file of its own, beside the others. */
  readonly defences?: readonly Defence[];
  /** The login form (default /login). */
  readonly loginPage?: string;
  /** A page that shows a signed-in caller a form with its CSRF token (default /settings). */
  readonly signedInPage?: string;
  /** Routes ("METHOD /url") the app knows it has: proves the enumeration saw them, on both faces. */
  readonly mustSee?: readonly string[];
  /** The fuzzer's aim at the app's own content (an existing slug, id …). */
  readonly knownContent?: KnownContent;
}

function assertSees(routes: readonly CataloguedRoute[], mustSee: readonly string[]): void {
  const seen = new Set(routes.map((r) => `${r.method} ${r.url}`));
  const missed = mustSee.filter((r) => !seen.has(r));
  assert.deepEqual(missed, [], `the kit's route enumeration saw ${seen.size} routes but not these`);
}

function judge(t: TestContext, result: CheckResult): void {
  t.diagnostic(`${result.checked.length} requests sent`);
  assert.equal(result.problems.length, 0, `\n${result.problems.join('\n')}`);
}

export function runAttackKit(options: AttackKitOptions): void {
  const pages = { loginPage: options.loginPage ?? '/login', signedInPage: options.signedInPage ?? '/settings' };
  const defences = new Set(options.defences ?? DEFENCES);
  const mustSee = options.mustSee ?? [];
  const env = options.env ?? {};
  for (const backend of options.backends ?? BACKENDS) {
    const title = (behaviour: string): string => `[${backend}] ${options.name}: ${behaviour}`;
    const open = async (t: TestContext, extraEnv: Record<string, string> = {}) => {
      const subject = await openAppUnderTest(options.build, backend, { ...env, ...extraEnv });
      t.after(() => subject.close());
      assertSees(subject.routes, mustSee);
      return subject;
    };

    if (defences.has('anonymous')) {
      test(
        title('every route not declared public refuses an anonymous caller (401, or the login page for pages), HEAD as its GET'),
        async (t) => {
          judge(t, await checkAnonymousRefusal(await open(t), pages));
        },
      );
    }

    if (defences.has('csrf')) {
      test(
        title("every unsafe route of the pages refuses a signed-in post with no CSRF token or another session's token (403)"),
        async (t) => {
          judge(t, await checkCsrfRefusal(await open(t), pages));
        },
      );
    }

    if (defences.has('headers')) {
      test(title("every route's answers, 404s, router and body errors carry SPEC §3's security headers and no 5xx"), async (t) => {
        await t.test('development', async (t) => {
          judge(t, await checkHeaderCoverage(await open(t), { ...pages, production: false }));
        });
        await t.test('production behind a trusted proxy (with HSTS)', async (t) => {
          const production = { NODE_ENV: 'production', TRUST_PROXY: '127.0.0.1', PUBLIC_ORIGIN: 'https://attack-kit.example' };
          judge(t, await checkHeaderCoverage(await open(t, production), { ...pages, production: true }));
        });
      });
    }

    if (defences.has('fuzz')) {
      test(
        title(
          'every route, fuzzed from its own schema and hostile values, answers below 500 within its CPU budget and leaves /healthz answering',
        ),
        async (t) => {
          const settings = fuzzSettingsFromEnv(process.env, pages, options.knownContent);
          const session = await FuzzSession.start({ backend, builder: options.builderModule, env }, settings);
          t.after(() => session.stop());
          assertSees(session.routes, mustSee);
          t.diagnostic(
            `${session.routes.length} routes, ${settings.runs} requests each, seed ${settings.seed}; trivial request ${session.trivial} µs CPU, budget ${Math.round(session.budget / 1000)} ms`,
          );
          for (const route of session.routes) {
            await t.test(`${route.method} ${route.url}`, async (t) => {
              const verdict = await session.fuzzRoute(route);
              if (process.env.FUZZ_VERBOSE) t.diagnostic(`heaviest ${Math.round(verdict.heaviest / 1000)} ms CPU`);
              assert.equal(verdict.problems.length, 0, verdict.problems.join('\n\n'));
            });
          }
        },
      );
    }
  }
}
