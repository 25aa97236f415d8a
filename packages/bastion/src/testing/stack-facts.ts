// What an app's tests may know of the stack beyond its routes: the limits and lifetimes a test
// counts to or steps a clock past, the admission queues it waits on, what the stack stores in
// place of a secret, and the keys an attack test forges a cookie or a sealed secret with. Each
// is named for the test that needs it (docs/testing.md, "Stack facts"); the stack's other
// modules stay private to the package and its own tests.

// Limits and lifetimes: a test reaches them by counting or by moving a clock.
export { ACCOUNT_TOKEN_LIFETIME_MS } from '../accounts/account-tokens.js';
export { SCORED_LENGTH } from '../accounts/password-strength.js';
export { TYPED_IDENTIFIER_MAX } from '../audit/audit-log.js';
export { REAUTH_WINDOW_MS } from '../auth/reauth.js';
export { DEVICE_COOKIE_MAX_AGE } from '../security/device-cookies.js';
export { LOGIN_RULES } from '../security/login-limits.js';
export { writeRules } from '../security/write-limits.js';

// Admission queues: how many run at once and wait, and gauges a test polls to know a request
// is admitted or queued before it sends the next.
export { PASSWORD_ADMISSION, PASSWORD_QUEUE_LIMIT, waitingForPasswordWork } from '../security/password-admission.js';
export {
  SCANS_PER_CLIENT,
  SCAN_CONCURRENCY,
  SCAN_QUEUE_LIMIT,
  scanning,
  scansInFlight,
  waitingForScan,
} from '../security/scan-admission.js';

// Secrets at rest and forged credentials: the stack stores a token's SHA-256, never the token;
// keys are derived per purpose from SECRET_KEY, so an attack test signs with the wrong
// purpose's key or a retired key and expects a refusal.
export { deriveEncryptionKeys, deriveKeys, sha256Hex } from '../sessions/derive-keys.js';
export { sealedBox } from '../security/sealed-box.js';
// An authenticator: a test signs in with a second factor as a phone app would.
export { codeAt, newTotpSecret } from '../two-factor/totp.js';

// State a test sets up or reads: an admin made as the CLI makes one, the SQLite file behind a
// config, and the mail failures the admin's mail tab lists.
export { createAdmin } from '../accounts/create-admin.js';
export { sqlitePath } from '../db/database.js';
export { listMailFailures, recordMailFailure } from '../mail/mail-failures.js';

// Migrations: the stack's own tables, and a migrator over the stack's list and an app's (in the
// order start applies them) for tests that stop at a migration or go back one.
export { STACK_TABLE_NAMES } from '../db/schema.js';
export { RETIRED_MIGRATIONS, allMigrationsFor, migratorFor } from '../db/migrate.js';
