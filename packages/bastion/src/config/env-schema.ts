import { Type, type Static } from '@sinclair/typebox';

// Every environment variable Bastion reads, with its default. Nothing else in the code
// reads process.env: the result of this schema is the only configuration there is.
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], { default: 'development' }),
  HOST: Type.String({ minLength: 1, maxLength: 255, default: '127.0.0.1' }),
  PORT: Type.String({ pattern: '^[0-9]{1,5}$', default: '3000' }),
  DATA_DIR: Type.String({ minLength: 1, maxLength: 4096, default: './data' }),
  DATABASE_URL: Type.String({ maxLength: 4096, default: '' }),
  DATABASE_POOL_MAX: Type.String({ pattern: '^[0-9]{1,4}$', default: '10' }),
  REDIS_URL: Type.String({ maxLength: 4096, default: '' }),
  // Every Redis key of this deployment starts with it; another deployment on the same Redis
  // database needs its own (packages/bastion/src/sessions/redis-namespace.ts refuses to share one).
  REDIS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$', default: 'bastion:' }),
  SECRET_KEY: Type.String({ maxLength: 4096, default: '' }),
  SECRET_KEY_FALLBACKS: Type.String({ maxLength: 65536, default: '' }),
  PUBLIC_ORIGIN: Type.String({ maxLength: 2048, default: '' }),
  TRUST_PROXY: Type.String({ maxLength: 4096, default: '' }),
  CORS_ORIGINS: Type.String({ maxLength: 65536, default: '' }),
  // Account mail (packages/bastion/src/mail): smtp:// (STARTTLS required) or smtps:// (implicit TLS), with the
  // login as the URL's user:password. Unset: mails are written to DATA_DIR/outbox instead.
  SMTP_URL: Type.String({ maxLength: 4096, default: '' }),
  // 'false' lets smtp:// send without STARTTLS (a relay on the same host); never with a password in production.
  SMTP_REQUIRE_TLS: Type.Union([Type.Literal(''), Type.Literal('0'), Type.Literal('1'), Type.Literal('false'), Type.Literal('true')], {
    default: '',
  }),
  MAIL_FROM: Type.String({ maxLength: 512, default: '' }),
  // Which unconfirmed accounts may not write yet (the app's site.writes; on either face): 'html' those
  // made on the pages (one made through the RealWorld API writes at once, as its spec has it) or
  // 'all' every one (breaks RealWorld clients).
  ACCOUNT_CONFIRMATION: Type.Union([Type.Literal('html'), Type.Literal('all')], { default: 'html' }),
  // Roles whose members must have a second factor: comma-separated, of member, moderator, admin
  // (e.g. "admin,moderator"). Such a user without one is sent to /settings/security to set it up.
  REQUIRE_TWO_FACTOR_FOR: Type.String({
    pattern: '^\\s*(?:(?:member|moderator|admin)\\s*(?:,\\s*(?:member|moderator|admin)\\s*)*)?$',
    maxLength: 64,
    default: '',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  // Switches that exist only so the production checks can refuse them.
  DEBUG: Type.Union([Type.Literal(''), Type.Literal('0'), Type.Literal('1'), Type.Literal('false'), Type.Literal('true')], { default: '' }),
  COOKIE_SECURE: Type.Union([Type.Literal(''), Type.Literal('0'), Type.Literal('1'), Type.Literal('false'), Type.Literal('true')], {
    default: '',
  }),
});

export type RawEnv = Static<typeof EnvSchema>;
