// bastion/testing: the attack kit an app built on Bastion runs against itself (docs/testing.md).
export { runAttackKit, DEFENCES, type AttackKitOptions, type Defence } from './attack-kit.js';
export { openAppUnderTest, type AppBuilder, type AppUnderTest, type BuildOptions } from './app-under-test.js';
export { BACKENDS, isolate, type BackendName, type Isolation } from './backends.js';
export { createUser, registerUser, type TestUser } from './accounts.js';
export {
  TestClient,
  formCsrf,
  firstCsrf,
  formPages,
  type TestClientOptions,
  type TestRequest,
  type TestResponse,
  type TestCookie,
} from './test-client.js';
export { checkAnonymousRefusal } from './checks/anonymous-refusal.js';
export { checkCsrfRefusal } from './checks/csrf-refusal.js';
export { checkHeaderCoverage } from './checks/header-coverage.js';
export type { CheckResult } from './checks/route-requests.js';
export { FuzzSession, fuzzSettingsFromEnv, type FuzzSettings } from './fuzz/route-fuzz.js';
export type { FuzzCall, KnownContent } from './fuzz/fuzz-identities.js';
// Number spellings every route refuses in its query string, for an app's own attack on its paged routes.
export { REFUSED_QUERY_NUMBERS } from './fuzz/hostile-values.js';
export { headerSetProblems } from './security-header-set.js';
export { PG_URL, REDIS_URL, randomKey } from './backends.js';
export { freePort } from './free-port.js';
export { csrfFrom, loggedInBrowser, memberBrowser, newBrowser, registeredBrowser, type PageBrowser } from './page-browser.js';
export { confirmationTokenFor, confirmByLink, linkToken, outboxMailsTo } from './account-mail.js';
// The stack's limits, queues, stored digests, keys and migrations, for tests that reach them.
export * from './stack-facts.js';
