// bastion/internals: Bastion's inner modules, for the tests of an app that inspect or set up the
// stack's own state (its stores, limits, keys). No stability promise, and an app's source may not
// import it (scripts/lint/bastion-boundary.js): an app's code uses 'bastion' only.
export { ACCOUNT_TOKEN_LIFETIME_MS } from './accounts/account-tokens.js';
export { takenBy } from './accounts/account-uniqueness.js';
export { createAdmin } from './accounts/create-admin.js';
export { passwordProblems } from './accounts/password-policy.js';
export { SCORED_LENGTH } from './accounts/password-strength.js';
export { type AuditEvent, TYPED_IDENTIFIER_MAX } from './audit/audit-log.js';
export { REAUTH_WINDOW_MS } from './auth/reauth.js';
export { BASTION_STATEMENTS } from './auth/roles.js';
export { CRASH_EXIT_CODE } from './crash-handlers.js';
export { type ScanOptions, sqlitePath } from './db/database.js';
export { RETIRED_MIGRATIONS, allMigrationsFor, migratorFor } from './db/migrate.js';
export { authVersion } from './db/migrations/004-auth-version.js';
export { usernameCase } from './db/migrations/007-username-case.js';
export { mailFailures } from './db/migrations/009-mail-failures.js';
export { accountTokens } from './db/migrations/010-account-tokens.js';
export { emailConfirmed } from './db/migrations/011-email-confirmed.js';
export { sessionAuthenticatedAt } from './db/migrations/012-session-authenticated-at.js';
export { twoFactor } from './db/migrations/013-two-factor.js';
export { passkeys } from './db/migrations/014-passkeys.js';
export { signedUpVia } from './db/migrations/015-signed-up-via.js';
export { ScanTimeoutError } from './db/scan-deadline.js';
export { READER_NICENESS, ScanReaders } from './db/scan-readers.js';
export { STACK_TABLE_NAMES } from './db/schema.js';
export { ClientGoneError } from './http/client-gone.js';
export { parseQueryInteger } from './http/query-integer.js';
export { CONTENT_SECURITY_POLICY } from './http/security-headers.js';
export { validatorCompiler } from './http/validation.js';
export { listMailFailures, recordMailFailure } from './mail/mail-failures.js';
export { type MailerOverrides } from './mail/mail-plugin.js';
export { type Wait } from './mail/mail-queue.js';
export { type SendResult } from './mail/mailer.js';
export { whileStillAdmin } from './pages/admin/user-directory.js';
export { readinessProbe } from './routes/readiness.js';
export { DEVICE_COOKIE_MAX_AGE } from './security/device-cookies.js';
export { LOGIN_RULES } from './security/login-limits.js';
export { PASSWORD_ADMISSION, PASSWORD_QUEUE_LIMIT, waitingForPasswordWork } from './security/password-admission.js';
export {
  SCANS_PER_CLIENT,
  SCAN_CONCURRENCY,
  SCAN_QUEUE_LIMIT,
  scanning,
  scansInFlight,
  waitingForScan,
} from './security/scan-admission.js';
export { sealedBox } from './security/sealed-box.js';
export { writeRules } from './security/write-limits.js';
export { DatabaseSessionStore } from './sessions/database-session-store.js';
export { deriveEncryptionKeys, deriveKeys, sha256Hex } from './sessions/derive-keys.js';
export { RedisSessionStore } from './sessions/redis-session-store.js';
export { type SessionRecord } from './sessions/session-store.js';
export { codeAt, newTotpSecret } from './two-factor/totp.js';
export { RedisNamespaceTaken, namespaceFingerprints } from './sessions/redis-namespace.js';
