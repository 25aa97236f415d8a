// Bastion's public API: everything an application built on it may import, and nothing else
// (eslint.config.js refuses a deep import into src/ from examples/). An application gets the
// whole security layer from createBastion (or startBastion in production) and adds its routes
// to a face, its templates as a views directory and its tables as migrations; see
// docs/build-your-own-app.md and examples/guestbook/ for one that does.

// What Bastion adds to Fastify's types (request.member, app.writeLimit, …): these modules declare
// it, so an app compiled against the package's declarations sees it too.
import './accounts/account-tokens.js';
import './accounts/api-accounts.js';
import './accounts/passkeys/passkeys.js';
import './accounts/password-resets.js';
import './accounts/sign-up.js';
import './audit/audit-log.js';
import './auth/api-tokens.js';
import './auth/current-user.js';
import './auth/guards.js';
import './auth/reauth.js';
import './auth/roles.js';
import './config/site.js';
import './features/install-features.js';
import './http/views.js';
import './mail/mail-plugin.js';
import './pages/admin/admin-tabs.js';
import './security/rate-limits.js';
import './security/write-limits.js';
import './sessions/sessions.js';
import './two-factor/require-second-factor.js';
import './two-factor/two-factor.js';

// Building and starting.
export { createBastion, BODY_LIMIT, type BastionOptions } from './create-bastion.js';
// The mailer option's parts (tests pass a short retry wait, say) and what one send comes to.
export type { MailerOverrides } from './mail/mail-plugin.js';
export type { Wait } from './mail/mail-queue.js';
export type { SendResult } from './mail/mailer.js';
// What a process that crashes exits with (listenBastion's crash handlers), for a supervisor or a test.
export { CRASH_EXIT_CODE } from './crash-handlers.js';
export { startBastion, StartRefused, type StartOptions, type StartedBastion } from './start-bastion.js';
// An app with a start of its own (its own warm-up before listening) ends it here: the bounded
// SIGTERM drain, the crash handlers and the password estimator are Bastion's production start.
export { listenBastion } from './start-bastion.js';
export { appFindings, type DeployCheck } from './config/app-checks.js';
export { runCli } from './cli/run-cli.js';
export type { AppCommand, AppServer, AppStart, BastionApp, CommandContext } from './cli/bastion-app.js';
export type { AppRoutes } from './faces/app-routes.js';
// A feature in one module: its tables, routes, templates, limits and audit events declared together.
export {
  defineFeature,
  FeatureError,
  type Feature,
  type FeatureContext,
  type FeatureDefinition,
  type FeatureLimit,
  type FeatureRoutes,
} from './features/define-feature.js';
export { openRuntime, type Runtime, type RuntimeOptions } from './runtime.js';
export { loadConfig, ConfigError, type LoadOptions, type LoadedConfig } from './config/load-config.js';
export type { Config } from './config/config.js';
export type { Finding, Severity } from './config/deploy-checks.js';

// The database: the app's tables come through its migrations, read with Kysely (parameters only).
export { migrateToLatest, type AppMigrations } from './db/migrate.js';
export type { Db, DialectName, ScanOptions } from './db/database.js';
// What db.scan throws when a scan outruns its deadline (a 503 to the caller, never a hang).
export { ScanTimeoutError } from './db/scan-deadline.js';

// Declaring routes: who may call them (`config: { access }`, refused at start when missing), a
// body schema or noBody, and the signed-in member as `request.member` (401 when nobody is).
export { noBody, noContent, RouteRuleError } from './http/route-rules.js';
export { ACCESS, type Access } from './auth/guards.js';
// Roles as data (`roles` on createBastion): the app's resources, actions and grants; a handler
// checks a grant with assertCan (403 and an authz.deny audit when the caller lacks it).
export { assertCan, RoleOptionError, type RoleOptions, type Grants, type Scope, type Resource } from './auth/roles.js';
// The stack's own resources and actions, which an app's grants extend.
export { BASTION_STATEMENTS } from './auth/roles.js';
// The rest of what an app supplies as data: its name, its admin tabs, audit events, write limits.
export { SiteOptionError, type Site } from './config/site.js';
export { AdminTabOptionError, type AdminTabOption } from './pages/admin/admin-tabs.js';
export { AuditEventError, type AuditEvent } from './audit/audit-log.js';
export { WriteLimitError, type WriteLimitOption } from './security/write-limits.js';
export type { AuthUser } from './auth/current-user.js';
export type { Role } from './db/schema.js';
export type { PageData } from './http/views.js';

// Refusing a request: one error catalogue; the face turns a code into JSON or an HTML page.
export { AppError, ERRORS, type ErrorCode } from './http/app-error.js';

// Schemas: forms carry their CSRF token; numbers in a URL are read by queryInteger only.
export { csrfField, buttonForm, formBody } from './http/form-schemas.js';
export { queryInteger } from './http/query-integer.js';
export { createTableWithId } from './db/migrations/table-with-id.js';

// Accounts for the app's own JSON API (app.apiAccounts): register, sign in for a token, read
// and change one's own account. The flow is Bastion's (the password queue, the login limits, the
// second factor, audit, confirmation mail, each token's auth version); the app's routes only
// shape the JSON.
export type { ApiAccounts, TokenAccount, TokenSignIn } from './accounts/api-accounts.js';
export type { UserRecord } from './accounts/users.js';

// Whether a signed-in account may write yet (its address confirmed, SPEC §3): read it before
// storing what a member wrote, so a throwaway address cannot post.
export { mayWrite, requireMayWrite, unconfirmedMessage } from './accounts/account-mail.js';

// Building blocks Conduit's source uses, public since the workspaces split: each group says why
// an app reaches for it. Smaller than the entry above and less settled; an app may well need none.

// Its own API's schemas, held to the bounds Bastion's account rules enforce (a RealWorld body is
// refused by the app's schema before Bastion's rules would answer): each field's JSON schema.
export { profileFieldSchemas } from './accounts/profile-fields.js';

// Roles as code for the app's own rules: who may act on a resource (Actor), and the grants
// checked at start. A 403 a handler throws is audited as authz.deny by either face.
export { type Actor, defineRoles } from './auth/roles.js';

// Paging: one page size and one depth bound (MAX_OFFSET) for every list, in the query schema,
// the pager and the query alike.
export { MAX_OFFSET, MAX_PAGE, pageField, pageRequest, paginate } from './http/paging.js';

// Page forms and parameters: the button form, an id in the path, the redirect back with a
// notice, and a `next` that can only point inside the site.
export { type ButtonBody, type IdParams, backWithNotice, buttonBody, idParams, listHref } from './pages/admin/admin-schemas.js';
export { safeNext } from './pages/safe-next.js';

// The database below the runtime: the tables' types for Kysely, queries compiled once, a
// unique-index refusal told from any other failure, LIKE patterns with the user's text
// escaped, and member accounts in bulk for demo data (no password anyone knows).
export type { Database } from './db/schema.js';
export { type SlotFn, prepared } from './db/prepared.js';
export { isUniqueViolation } from './db/db-errors.js';
export { escapeLike } from './pages/admin/text-match.js';
export { type DemoMember, insertDemoMembers } from './accounts/demo-members.js';

// Admission: costly work (a scan, a render on worker threads) done a few at a time with a
// bounded queue (503 beyond it), and given up when the client has gone.
export { type Admission, boundedAdmission } from './security/admission.js';
export { admitScan } from './security/scan-admission.js';
export { ClientGoneError, clientGone } from './http/client-gone.js';
