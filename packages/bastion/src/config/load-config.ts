import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import type { Config } from './config.js';
import type { Role } from '../db/schema.js';
import { EnvSchema, type RawEnv } from './env-schema.js';
import { runDeployChecks, type Finding } from './deploy-checks.js';

export interface LoadedConfig {
  readonly config: Config;
  readonly findings: readonly Finding[];
  /** Things the operator should know, e.g. that a development key was generated. */
  readonly notices: readonly string[];
}

export interface LoadOptions {
  /** Defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A .env file to read first; the real environment wins over it. Defaults to ./.env. */
  readonly dotenvPath?: string | null;
}

const KNOWN = new Set(Object.keys(EnvSchema.properties));
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Reads the environment once, validates it, and returns a deep-frozen Config with its findings. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const fromFile = readDotenv(options.dotenvPath === undefined ? '.env' : options.dotenvPath);
  const source = { ...fromFile, ...(options.env ?? process.env) };
  const picked: Record<string, string> = {};
  for (const key of KNOWN) {
    const value = source[key];
    if (value !== undefined) picked[key] = value.trim();
  }
  const withDefaults = Value.Default(EnvSchema, picked) as Record<string, unknown>;
  const schemaFindings: Finding[] = [...Value.Errors(EnvSchema, withDefaults)].map((e) => ({
    id: 'bastion.E000',
    severity: 'error' as const,
    message: `${e.path.slice(1) || 'environment'} is invalid: ${e.message}.`,
    fix: `Correct ${e.path.slice(1)} (see .env.example).`,
  }));
  if (schemaFindings.length > 0) {
    // Without a valid environment nothing else can be judged; report what we have.
    throw new ConfigError(schemaFindings);
  }
  const raw = withDefaults as RawEnv;
  const notices: string[] = [];
  const isProduction = raw.NODE_ENV === 'production';
  const dataDir = resolve(raw.DATA_DIR);
  const port = Number(raw.PORT);

  let secretKey = raw.SECRET_KEY;
  if (secretKey === '' && !isProduction) {
    secretKey = developmentKey(dataDir, notices);
  }
  const rawCors = splitList(raw.CORS_ORIGINS);
  const proxy = parseTrustProxy(raw.TRUST_PROXY);
  const config: Config = deepFreeze({
    nodeEnv: raw.NODE_ENV,
    isProduction,
    host: raw.HOST,
    port,
    dataDir,
    databaseUrl: raw.DATABASE_URL === '' ? null : raw.DATABASE_URL,
    databasePoolMax: Math.max(1, Number(raw.DATABASE_POOL_MAX)),
    redisUrl: raw.REDIS_URL === '' ? null : raw.REDIS_URL,
    redisPrefix: raw.REDIS_PREFIX,
    secretKey,
    secretKeyFallbacks: splitList(raw.SECRET_KEY_FALLBACKS),
    publicOrigin: (raw.PUBLIC_ORIGIN || `http://${raw.HOST.includes(':') ? `[${raw.HOST}]` : raw.HOST}:${port}`).replace(/\/$/, ''),
    trustProxy: proxy.value,
    corsOrigins: rawCors.filter((o) => !o.includes('*')).map((o) => o.replace(/\/$/, '')),
    smtpUrl: raw.SMTP_URL === '' ? null : raw.SMTP_URL,
    smtpRequireTls: raw.SMTP_REQUIRE_TLS !== '0' && raw.SMTP_REQUIRE_TLS !== 'false',
    mailFrom: raw.MAIL_FROM === '' ? null : raw.MAIL_FROM,
    accountConfirmation: raw.ACCOUNT_CONFIRMATION,
    requireTwoFactorFor: [...new Set(splitList(raw.REQUIRE_TWO_FACTOR_FOR))] as Role[],
    logLevel: raw.LOG_LEVEL,
    debug: raw.DEBUG === '1' || raw.DEBUG === 'true',
    cookieSecure: raw.COOKIE_SECURE === '' ? isProduction : raw.COOKIE_SECURE === '1' || raw.COOKIE_SECURE === 'true',
  });
  if (raw.DATABASE_URL !== '' && !/^postgres(?:ql)?:\/\//.test(raw.DATABASE_URL)) {
    proxy.findings.push({
      id: 'bastion.E014',
      severity: 'error',
      message: 'DATABASE_URL is not a postgres:// URL.',
      fix: 'Unset DATABASE_URL for the embedded SQLite database, or give a postgres:// URL.',
    });
  }
  if (raw.REDIS_URL !== '' && !/^rediss?:\/\//.test(raw.REDIS_URL)) {
    proxy.findings.push({
      id: 'bastion.E015',
      severity: 'error',
      message: 'REDIS_URL is not a redis:// or rediss:// URL.',
      fix: 'Give a redis:// URL, or unset REDIS_URL for in-process stores.',
    });
  }
  const findings = [
    ...proxy.findings,
    ...runDeployChecks({
      config,
      givenSecretKey: raw.SECRET_KEY,
      givenPublicOrigin: raw.PUBLIC_ORIGIN,
      rawTrustProxy: raw.TRUST_PROXY,
      rawCorsOrigins: rawCors,
    }),
  ];
  return { config, findings: Object.freeze(findings), notices: Object.freeze(notices) };
}

/** Thrown when the environment cannot even be read; carries every finding. */
export class ConfigError extends Error {
  constructor(readonly findings: readonly Finding[]) {
    super(`Bastion's configuration is invalid:\n${formatFindings(findings)}`);
    this.name = 'ConfigError';
  }
}

export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No problems found.';
  return findings.map((f) => `${f.severity.toUpperCase()} ${f.id}: ${f.message}\n    fix: ${f.fix}`).join('\n');
}

export const hasErrors = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === 'error');

// Node's own .env parser (the one behind --env-file): KEY=value lines, `export` prefixes, #
// comments, single/double/backtick quotes, multi-line quoted values, no variable expansion. It
// does not skip a byte-order mark, which would silently rename the first key, so that goes first.
function readDotenv(path: string | null): Record<string, string | undefined> {
  if (path === null || !existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseTrustProxy(value: string): { value: Config['trustProxy']; findings: Finding[] } {
  const v = value.trim();
  if (v === '' || v === 'false' || v === '0') return { value: false, findings: [] };
  if (/^\d{1,2}$/.test(v)) return { value: Number(v), findings: [] };
  const entries = splitList(v);
  const bad = entries.filter((e) => !PROXY_NAMES.has(e) && !isAddressOrCidr(e));
  if (v === 'true' || v === '*') return { value: false, findings: [] }; // refused by bastion.E013
  if (bad.length > 0) {
    return {
      value: false,
      findings: [
        {
          id: 'bastion.E016',
          severity: 'error',
          message: `TRUST_PROXY entries are not addresses or CIDRs: ${bad.join(', ')}.`,
          fix: 'Give a hop count or a comma list of proxy addresses/CIDRs.',
        },
      ],
    };
  }
  return { value: entries, findings: [] };
}

// proxy-addr throws at start on a bad prefix ("10.0.0.0/99"), so it is refused here with an id.
function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Development only: a random key made once and kept in DATA_DIR/secret_key with mode 0600. */
function developmentKey(dataDir: string, notices: string[]): string {
  const file = join(dataDir, 'secret_key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 64) {
      chmodSync(file, 0o600); // a copied or restored file may have lost its mode
      return key;
    }
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  notices.push(`No SECRET_KEY set: generated a development key in ${file} (mode 0600). Production refuses to start without SECRET_KEY.`);
  return key;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
