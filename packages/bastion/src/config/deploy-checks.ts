import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { isSenderAddress } from '../mail/mail-address.js';
import { parseSmtpUrl } from '../mail/smtp-url.js';

// Deploy checks as data (modelled on Django's `check --deploy`): one list drives both the
// production refusal to start and `bastion check`. Each id is stable and never reused.

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly message: string;
  readonly fix: string;
}

/** Keys that appear in tutorials, samples and our own .env.example: never accepted. */
export const WELL_KNOWN_KEYS: ReadonlySet<string> = new Set([
  'changeme',
  'change-me',
  'change_me',
  'secret',
  'secret-key',
  'secret_key',
  'secretkey',
  'development-key',
  'development',
  'dev',
  'devkey',
  'dev-key',
  'test',
  'testing',
  'password',
  'keyboard cat',
  'supersecret',
  'super-secret',
  'mysecret',
  'my-secret',
  'default',
  'bastion',
  'conduit',
  'replace-me',
  'replace-with-64-hex-characters',
  'insecure',
  'notasecret',
  '12345678',
]);

export const MIN_KEY_BYTES = 32;

/** How many bytes of key material a key string carries: hex counts half, base64 three quarters. */
export function keyBytes(key: string): number {
  if (/^[0-9a-f]+$/i.test(key) && key.length % 2 === 0) return key.length / 2;
  if (/^[\w+/-]+={0,2}$/.test(key) && key.length >= 43) return Math.floor((key.replace(/={1,2}$/, '').length * 3) / 4);
  return Buffer.byteLength(key, 'utf8');
}

// Sample words of six letters or more: a key built around one ("my-secret-key-changeme-…") is
// as guessable as the word itself, however long it is.
const SAMPLE_LETTERS = new Set([...WELL_KNOWN_KEYS].map((k) => k.replaceAll(/[^a-z]/g, '')).filter((k) => k.length > 3));
const SAMPLE_WORDS = [...SAMPLE_LETTERS].filter((k) => k.length >= 6);

/** A problem with a key, or null: too short, well known, or visibly not random. */
export function keyWeakness(key: string): string | null {
  const lowered = key.trim().toLowerCase();
  const letters = lowered.replaceAll(/[^a-z]/g, '');
  const compact = lowered.replaceAll(/[^a-z0-9]/g, '');
  if (WELL_KNOWN_KEYS.has(lowered) || SAMPLE_LETTERS.has(letters) || SAMPLE_WORDS.some((w) => compact.includes(w))) {
    return 'is a well-known sample value';
  }
  if (keyBytes(key) < MIN_KEY_BYTES) return `is shorter than ${MIN_KEY_BYTES} bytes`;
  if (new Set(key).size < 8) return 'has too few distinct characters to be random';
  // A string is a repeated pattern exactly when it occurs in itself doubled before its own length.
  if ((key + key).indexOf(key, 1) < key.length) return 'is a repeated pattern, not random';
  return null;
}

export interface CheckInput {
  readonly config: Config;
  /** The key as the environment gave it ('' when a development key was generated). */
  readonly givenSecretKey: string;
  readonly givenPublicOrigin: string;
  readonly rawTrustProxy: string;
  readonly rawCorsOrigins: readonly string[];
}

type Check = (input: CheckInput, prod: boolean) => Finding[];

const finding = (id: string, severity: Severity, message: string, fix: string): Finding => ({ id, severity, message, fix });
const prodOnly = (prod: boolean): Severity => (prod ? 'error' : 'warning');

const GENERATE_KEY = "Generate one with `node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"` and set SECRET_KEY.";

const checks: readonly Check[] = [
  function secretKeyPresent({ givenSecretKey }, prod) {
    if (givenSecretKey !== '' || !prod) return [];
    return [
      finding(
        'bastion.E001',
        'error',
        'SECRET_KEY is not set: sessions, CSRF tokens and signed cookies would have no secret.',
        GENERATE_KEY,
      ),
    ];
  },
  function secretKeyStrong({ givenSecretKey }, prod) {
    if (givenSecretKey === '') return [];
    const weakness = keyWeakness(givenSecretKey);
    if (!weakness) return [];
    const id = weakness.startsWith('is a well-known') ? 'bastion.E003' : 'bastion.E002';
    return [finding(id, prodOnly(prod), `SECRET_KEY ${weakness}: anyone could forge sessions and tokens.`, GENERATE_KEY)];
  },
  function fallbacksDistinct({ config }) {
    if (!config.secretKeyFallbacks.includes(config.secretKey)) return [];
    return [
      finding(
        'bastion.E004',
        'error',
        'SECRET_KEY_FALLBACKS contains SECRET_KEY itself: a retired key must differ from the signing key.',
        'Remove the current key from SECRET_KEY_FALLBACKS; list only previous keys there.',
      ),
    ];
  },
  function fallbacksStrong({ config }, prod) {
    return config.secretKeyFallbacks.flatMap((key, i) => {
      const weakness = keyWeakness(key);
      return weakness
        ? [
            finding(
              'bastion.E005',
              prodOnly(prod),
              `SECRET_KEY_FALLBACKS entry ${i + 1} ${weakness}: a weak fallback key lets anyone forge sessions.`,
              'Drop the weak key from SECRET_KEY_FALLBACKS.',
            ),
          ]
        : [];
    });
  },
  function publicOriginPresent({ givenPublicOrigin }, prod) {
    if (givenPublicOrigin !== '' || !prod) return [];
    return [
      finding(
        'bastion.E006',
        'error',
        'PUBLIC_ORIGIN is not set: Origin checks and the HTTPS redirect need the public address.',
        'Set PUBLIC_ORIGIN, e.g. https://conduit.example.com',
      ),
    ];
  },
  function publicOriginValid({ givenPublicOrigin }, prod) {
    if (givenPublicOrigin === '') return [];
    const url = parseOrigin(givenPublicOrigin);
    if (!url)
      return [
        finding(
          'bastion.E007',
          'error',
          `PUBLIC_ORIGIN "${givenPublicOrigin}" is not an origin (scheme://host[:port], no path).`,
          'Set PUBLIC_ORIGIN to a bare origin such as https://conduit.example.com',
        ),
      ];
    if (url.protocol !== 'https:' && prod)
      return [
        finding(
          'bastion.E007',
          'error',
          'PUBLIC_ORIGIN is not https: cookies and credentials would travel in clear text.',
          'Serve the site over HTTPS and set PUBLIC_ORIGIN to its https:// origin.',
        ),
      ];
    return [];
  },
  function debugOff({ config }, prod) {
    if (!config.debug || !prod) return [];
    return [
      finding(
        'bastion.E008',
        'error',
        'DEBUG is on: verbose error pages would show internals to every visitor.',
        'Unset DEBUG in production.',
      ),
    ];
  },
  function cookiesSecure({ config }, prod) {
    if (config.cookieSecure || !prod) return [];
    return [
      finding(
        'bastion.E009',
        'error',
        'COOKIE_SECURE is off: session cookies would be sent over plain HTTP.',
        'Unset COOKIE_SECURE (Secure is the production default).',
      ),
    ];
  },
  function corsOriginsExact({ rawCorsOrigins }, prod) {
    return rawCorsOrigins.flatMap((origin) => {
      if (origin.includes('*'))
        return [
          finding(
            'bastion.E010',
            'error',
            `CORS_ORIGINS contains a wildcard ("${origin}"): any site could call the API from a browser.`,
            'List each trusted origin exactly, e.g. https://app.example.com',
          ),
        ];
      const url = parseOrigin(origin);
      if (!url)
        return [
          finding(
            'bastion.E011',
            'error',
            `CORS_ORIGINS entry "${origin}" is not an origin (scheme://host[:port]).`,
            'List bare origins separated by commas.',
          ),
        ];
      if (prod && url.protocol !== 'https:')
        return [
          finding('bastion.E011', 'error', `CORS_ORIGINS entry "${origin}" is not https.`, 'Allow only https origins in production.'),
        ];
      return [];
    });
  },
  function dataDirPrivate({ config }, prod) {
    if (config.databaseUrl !== null) return [];
    const found: Finding[] = [];
    for (const path of [config.dataDir, join(config.dataDir, 'bastion.db')]) {
      const mode = modeOf(path);
      if (mode !== null && (mode & 0o007) !== 0) {
        found.push(
          finding(
            'bastion.E012',
            prodOnly(prod),
            `${path === config.dataDir ? 'DATA_DIR' : 'The SQLite file'} is readable by other users (mode ${(mode & 0o777).toString(8)}).`,
            `Run \`chmod o-rwx ${path}\`.`,
          ),
        );
      }
    }
    return found;
  },
  function trustProxyExplicit({ rawTrustProxy }) {
    const v = rawTrustProxy.trim().toLowerCase();
    if (v !== 'true' && v !== '*' && v !== '0.0.0.0/0' && v !== '::/0') return [];
    return [
      finding(
        'bastion.E013',
        'error',
        `TRUST_PROXY="${rawTrustProxy}" believes X-Forwarded-For from anyone: clients could spoof their address past the rate limits.`,
        'Set TRUST_PROXY to the hop count or the addresses of your own proxies.',
      ),
    ];
  },
  // Never a finding that quotes SMTP_URL: it holds the SMTP password.
  function smtpUrlValid({ config }) {
    if (config.smtpUrl === null || parseSmtpUrl(config.smtpUrl) !== null) return [];
    return [
      finding(
        'bastion.E018',
        'error',
        'SMTP_URL is not an smtp:// or smtps:// URL with a host (and nothing after the port).',
        'Give smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS), the login percent-encoded; or unset SMTP_URL.',
      ),
    ];
  },
  function mailFromPresent({ config }, prod) {
    if (config.smtpUrl === null || config.mailFrom !== null) return [];
    return [
      finding(
        'bastion.E019',
        prodOnly(prod),
        'SMTP_URL is set but MAIL_FROM is not: account mail would go out from a made-up sender and be rejected as spam.',
        'Set MAIL_FROM to an address of your domain, e.g. "Conduit <no-reply@conduit.example.com>".',
      ),
    ];
  },
  function smtpPasswordEncrypted({ config }, prod) {
    const endpoint = config.smtpUrl === null ? null : parseSmtpUrl(config.smtpUrl);
    if (!endpoint || endpoint.secure || config.smtpRequireTls || endpoint.pass === null) return [];
    return [
      finding(
        'bastion.E020',
        prodOnly(prod),
        'SMTP_REQUIRE_TLS=false with a password in an smtp:// SMTP_URL: the SMTP login could travel in clear text.',
        'Unset SMTP_REQUIRE_TLS (STARTTLS is then required), or use smtps://.',
      ),
    ];
  },
  function mailFromValid({ config }) {
    if (config.mailFrom === null || isSenderAddress(config.mailFrom)) return [];
    return [
      finding(
        'bastion.E021',
        'error',
        'MAIL_FROM is not one email address (optionally with a display name).',
        'Set MAIL_FROM like no-reply@conduit.example.com or "Conduit <no-reply@conduit.example.com>".',
      ),
    ];
  },
  function mailConfigured({ config }, prod) {
    if (!prod || config.smtpUrl !== null) return [];
    return [
      finding(
        'bastion.W002',
        'warning',
        'SMTP_URL is not set: no account mail is sent, so account recovery by mail (password reset, email confirmation) is off.',
        'Set SMTP_URL and MAIL_FROM to send account mail.',
      ),
    ];
  },
  function sharedStores({ config }, prod) {
    if (!prod || config.redisUrl !== null) return [];
    return [
      finding(
        'bastion.W001',
        'warning',
        'REDIS_URL is not set: sessions and rate limits live in this process only.',
        'Fine for one instance; set REDIS_URL before running several.',
      ),
    ];
  },
];

function parseOrigin(value: string): URL | null {
  try {
    const url = new URL(value);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== value.replace(/\/$/, '')) return null;
    return url;
  } catch {
    return null;
  }
}

function modeOf(path: string): number | null {
  try {
    return statSync(path).mode;
  } catch {
    return null;
  }
}

export function runDeployChecks(input: CheckInput): Finding[] {
  const prod = input.config.isProduction;
  return checks.flatMap((check) => check(input, prod));
}
