import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { ConfigError, loadConfig, type LoadedConfig } from 'bastion';
import { BACKENDS, PG_URL, REDIS_URL, randomKey, type BackendName } from 'bastion/testing';

// Every deploy-check id, Django style: the misconfiguration that triggers it in production,
// the same setting where the check is off (development, or a backend it does not concern),
// and the good configuration that keeps it quiet.

type Env = Record<string, string>;

function tempDir(t: TestContext, mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-config-'));
  chmodSync(dir, mode);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function backendEnv(backend: BackendName): Env {
  return backend === 'postgres' ? { DATABASE_URL: PG_URL, REDIS_URL } : {};
}

/** A production environment that passes every check on this backend. */
function goodProduction(t: TestContext, backend: BackendName): Env {
  return {
    NODE_ENV: 'production',
    SECRET_KEY: randomKey(),
    PUBLIC_ORIGIN: 'https://conduit.example.com',
    DATA_DIR: tempDir(t),
    REDIS_URL,
    SMTP_URL: GOOD_SMTP_URL,
    MAIL_FROM: 'Conduit <no-reply@conduit.example.com>',
    ...backendEnv(backend),
  };
}

const load = (env: Env): LoadedConfig => loadConfig({ env, dotenvPath: null });
const idsOf = (loaded: LoadedConfig, severity?: 'error' | 'warning'): string[] =>
  loaded.findings.filter((f) => !severity || f.severity === severity).map((f) => f.id);

interface Case {
  readonly id: string;
  readonly what: string;
  /** Applied over a good production env; `t` lets a case make directories. */
  readonly bad: (t: TestContext) => Env;
  readonly good: (t: TestContext) => Env;
  /** Where the same value is not an error: development by default. */
  readonly off?: (t: TestContext, backend: BackendName) => Env;
  readonly severity?: 'error' | 'warning';
  readonly only?: BackendName;
}

const STRONG = randomKey();
const SMTP_PASSWORD = `smtp-${randomKey().slice(0, 24)}`;
const GOOD_SMTP_URL = `smtp://mailer:${SMTP_PASSWORD}@mail.example.com:587`;
const CASES: readonly Case[] = [
  { id: 'bastion.E001', what: 'a missing SECRET_KEY', bad: () => ({ SECRET_KEY: '' }), good: () => ({ SECRET_KEY: randomKey() }) },
  {
    id: 'bastion.E002',
    what: 'a SECRET_KEY under 32 bytes',
    bad: () => ({ SECRET_KEY: 'Xk9#mP2$vL5qR8@w' }),
    good: () => ({ SECRET_KEY: randomKey() }),
  },
  {
    id: 'bastion.E002',
    what: 'a SECRET_KEY of 31 bytes of hex',
    bad: () => ({ SECRET_KEY: randomKey().slice(0, 62) }),
    good: () => ({ SECRET_KEY: randomKey() }),
  },
  {
    id: 'bastion.E002',
    what: 'a long SECRET_KEY that is a repeated pattern',
    bad: () => ({ SECRET_KEY: 'abcdefgh'.repeat(8) }),
    good: () => ({ SECRET_KEY: randomKey() }),
  },
  { id: 'bastion.E003', what: 'SECRET_KEY=changeme', bad: () => ({ SECRET_KEY: 'changeme' }), good: () => ({ SECRET_KEY: randomKey() }) },
  { id: 'bastion.E003', what: 'SECRET_KEY=secret', bad: () => ({ SECRET_KEY: 'secret' }), good: () => ({ SECRET_KEY: randomKey() }) },
  {
    id: 'bastion.E003',
    what: 'SECRET_KEY=development-key',
    bad: () => ({ SECRET_KEY: 'development-key' }),
    good: () => ({ SECRET_KEY: randomKey() }),
  },
  {
    id: 'bastion.E003',
    what: 'the .env.example placeholder',
    bad: () => ({ SECRET_KEY: 'replace-with-64-hex-characters' }),
    good: () => ({ SECRET_KEY: randomKey() }),
  },
  {
    id: 'bastion.E003',
    what: 'a long key built around a sample word',
    bad: () => ({ SECRET_KEY: 'my-super-secret-key-changeme-please-0123456789' }),
    good: () => ({ SECRET_KEY: randomKey() }),
  },
  {
    id: 'bastion.E004',
    what: 'a fallback equal to the key',
    bad: () => ({ SECRET_KEY: STRONG, SECRET_KEY_FALLBACKS: `${randomKey()},${STRONG}` }),
    good: () => ({ SECRET_KEY: STRONG, SECRET_KEY_FALLBACKS: randomKey() }),
    off: () => ({}),
  },
  {
    id: 'bastion.E005',
    what: 'a weak fallback key',
    bad: () => ({ SECRET_KEY_FALLBACKS: `${randomKey()},changeme` }),
    good: () => ({ SECRET_KEY_FALLBACKS: `${randomKey()},${randomKey()}` }),
  },
  {
    id: 'bastion.E006',
    what: 'a missing PUBLIC_ORIGIN',
    bad: () => ({ PUBLIC_ORIGIN: '' }),
    good: () => ({ PUBLIC_ORIGIN: 'https://conduit.example.com' }),
  },
  {
    id: 'bastion.E007',
    what: 'a plain-http PUBLIC_ORIGIN',
    bad: () => ({ PUBLIC_ORIGIN: 'http://conduit.example.com' }),
    good: () => ({ PUBLIC_ORIGIN: 'https://conduit.example.com/' }),
  },
  {
    id: 'bastion.E007',
    what: 'a PUBLIC_ORIGIN with a path',
    bad: () => ({ PUBLIC_ORIGIN: 'https://conduit.example.com/app' }),
    good: () => ({ PUBLIC_ORIGIN: 'https://conduit.example.com:8443' }),
    off: () => ({ PUBLIC_ORIGIN: 'http://127.0.0.1:3000' }),
  },
  { id: 'bastion.E008', what: 'DEBUG=1', bad: () => ({ DEBUG: '1' }), good: () => ({ DEBUG: '0' }) },
  { id: 'bastion.E009', what: 'COOKIE_SECURE=false', bad: () => ({ COOKIE_SECURE: 'false' }), good: () => ({ COOKIE_SECURE: '' }) },
  {
    id: 'bastion.E010',
    what: 'a wildcard CORS origin',
    bad: () => ({ CORS_ORIGINS: 'https://app.example.com,*' }),
    good: () => ({ CORS_ORIGINS: 'https://app.example.com' }),
    off: () => ({ CORS_ORIGINS: '' }),
  },
  {
    id: 'bastion.E010',
    what: 'a wildcard subdomain CORS origin',
    bad: () => ({ CORS_ORIGINS: 'https://*.example.com' }),
    good: () => ({ CORS_ORIGINS: 'https://a.example.com,https://b.example.com' }),
    off: () => ({ CORS_ORIGINS: '' }),
  },
  {
    id: 'bastion.E011',
    what: 'a plain-http CORS origin',
    bad: () => ({ CORS_ORIGINS: 'http://app.example.com' }),
    good: () => ({ CORS_ORIGINS: 'https://app.example.com' }),
  },
  {
    id: 'bastion.E011',
    what: 'a CORS entry that is not an origin',
    bad: () => ({ CORS_ORIGINS: 'app.example.com' }),
    good: () => ({ CORS_ORIGINS: 'https://app.example.com/' }),
    off: () => ({ CORS_ORIGINS: 'http://localhost:5173' }),
  },
  {
    id: 'bastion.E012',
    what: 'a DATA_DIR readable by others',
    only: 'sqlite',
    bad: (t) => ({ DATA_DIR: tempDir(t, 0o755) }),
    good: (t) => ({ DATA_DIR: tempDir(t, 0o700) }),
  },
  {
    id: 'bastion.E012',
    what: 'a SQLite file readable by others',
    only: 'sqlite',
    bad: (t) => {
      const dir = tempDir(t);
      closeSync(openSync(join(dir, 'bastion.db'), 'w', 0o644));
      chmodSync(join(dir, 'bastion.db'), 0o644);
      return { DATA_DIR: dir };
    },
    good: (t) => ({ DATA_DIR: tempDir(t, 0o700) }),
    off: (t) => ({ NODE_ENV: 'production', DATA_DIR: tempDir(t, 0o755), DATABASE_URL: PG_URL }),
  },
  {
    id: 'bastion.E013',
    what: 'TRUST_PROXY=true',
    bad: () => ({ TRUST_PROXY: 'true' }),
    good: () => ({ TRUST_PROXY: '10.0.0.0/8' }),
    off: () => ({ TRUST_PROXY: '' }),
  },
  {
    id: 'bastion.E013',
    what: 'TRUST_PROXY=0.0.0.0/0',
    bad: () => ({ TRUST_PROXY: '0.0.0.0/0' }),
    good: () => ({ TRUST_PROXY: '1' }),
    off: () => ({ TRUST_PROXY: 'false' }),
  },
  {
    id: 'bastion.E014',
    what: 'a DATABASE_URL that is not postgres',
    bad: () => ({ DATABASE_URL: 'mysql://root@db/conduit' }),
    good: () => ({ DATABASE_URL: PG_URL }),
    off: () => ({ DATABASE_URL: '' }),
  },
  {
    id: 'bastion.E015',
    what: 'a REDIS_URL that is not redis',
    bad: () => ({ REDIS_URL: 'http://127.0.0.1:6379' }),
    good: () => ({ REDIS_URL: 'rediss://cache.example.com:6380' }),
    off: () => ({ REDIS_URL: '' }),
  },
  {
    id: 'bastion.E016',
    what: 'a TRUST_PROXY entry that is not an address',
    bad: () => ({ TRUST_PROXY: '10.0.0.1,proxy.local' }),
    good: () => ({ TRUST_PROXY: 'loopback,10.0.0.1,fd00::/8' }),
    off: () => ({ TRUST_PROXY: '' }),
  },
  {
    id: 'bastion.E016',
    what: 'a TRUST_PROXY CIDR with a bad prefix',
    bad: () => ({ TRUST_PROXY: '10.0.0.0/99' }),
    good: () => ({ TRUST_PROXY: '10.0.0.0/8' }),
    off: () => ({ TRUST_PROXY: '' }),
  },
  {
    id: 'bastion.E018',
    what: 'an SMTP_URL that is not smtp(s)',
    bad: () => ({ SMTP_URL: `http://mailer:${SMTP_PASSWORD}@mail.example.com` }),
    good: () => ({ SMTP_URL: `smtps://mailer:${SMTP_PASSWORD}@mail.example.com` }),
    off: () => ({ SMTP_URL: '' }),
  },
  // Nodemailer would read transport options from the query (this one switches certificate checks off).
  {
    id: 'bastion.E018',
    what: 'an SMTP_URL with a query',
    bad: () => ({ SMTP_URL: `${GOOD_SMTP_URL}?tls.rejectUnauthorized=false` }),
    good: () => ({ SMTP_URL: `${GOOD_SMTP_URL}/` }),
    off: () => ({ SMTP_URL: '' }),
  },
  {
    id: 'bastion.E019',
    what: 'SMTP_URL without MAIL_FROM',
    bad: () => ({ MAIL_FROM: '' }),
    good: () => ({ MAIL_FROM: 'no-reply@conduit.example.com' }),
  },
  {
    id: 'bastion.E020',
    what: 'an SMTP password over smtp:// with STARTTLS opted out',
    bad: () => ({ SMTP_REQUIRE_TLS: 'false' }),
    good: () => ({ SMTP_URL: 'smtp://127.0.0.1:25', SMTP_REQUIRE_TLS: 'false' }),
  },
  {
    id: 'bastion.E021',
    what: 'a MAIL_FROM that is a list',
    bad: () => ({ MAIL_FROM: 'no-reply@conduit.example.com, other@evil.example' }),
    good: () => ({ MAIL_FROM: '"Conduit, the blog" <no-reply@conduit.example.com>' }),
    off: () => ({ MAIL_FROM: '' }),
  },
  {
    id: 'bastion.E021',
    what: 'a MAIL_FROM that is no address',
    bad: () => ({ MAIL_FROM: 'Conduit' }),
    good: () => ({ MAIL_FROM: 'no-reply@conduit.example.com' }),
    off: () => ({ MAIL_FROM: '' }),
  },
  {
    id: 'bastion.W002',
    what: 'no SMTP_URL (account recovery by mail is off)',
    severity: 'warning',
    bad: () => ({ SMTP_URL: '' }),
    good: () => ({ SMTP_URL: GOOD_SMTP_URL }),
  },
  {
    id: 'bastion.W001',
    what: 'in-process stores (no REDIS_URL)',
    severity: 'warning',
    bad: () => ({ REDIS_URL: '' }),
    good: () => ({ REDIS_URL }),
  },
];

for (const backend of BACKENDS) {
  for (const c of CASES) {
    if (c.only && c.only !== backend) continue;
    const severity = c.severity ?? 'error';

    test(`[${backend}] ${c.id} (${severity}) is raised in production for ${c.what}`, (t) => {
      const loaded = load({ ...goodProduction(t, backend), ...c.bad(t) });
      assert.ok(idsOf(loaded, severity).includes(c.id), `expected ${c.id}, got ${idsOf(loaded).join(', ')}`);
      const f = loaded.findings.find((x) => x.id === c.id)!;
      assert.ok(f.message.length > 10 && f.fix.length > 10, 'each finding says what is wrong and how to fix it');
      assert.doesNotMatch(f.message + f.fix, new RegExp(STRONG), 'a finding never repeats a good key');
      assert.ok(!(f.message + f.fix).includes(SMTP_PASSWORD), 'a finding never repeats the SMTP password');
    });

    test(`[${backend}] ${c.id} is not an error when off, for ${c.what}`, (t) => {
      const off = c.off ? c.off(t, backend) : { NODE_ENV: 'development', ...c.bad(t) };
      const loaded = load({ ...goodProduction(t, backend), NODE_ENV: 'development', ...off });
      assert.ok(!idsOf(loaded, 'error').includes(c.id), `${c.id} should not be an error here`);
      if (c.off) assert.ok(!idsOf(loaded).includes(c.id), `${c.id} should be silent here`);
    });

    test(`[${backend}] ${c.id} stays quiet when configured well, for ${c.what}`, (t) => {
      const loaded = load({ ...goodProduction(t, backend), ...c.good(t) });
      assert.deepEqual(idsOf(loaded), [], `no finding expected, got ${idsOf(loaded).join(', ')}`);
    });
  }

  test(`[${backend}] bastion.E000: an environment that fails the schema is refused with every bad variable listed`, (t) => {
    const err = (() => {
      try {
        load({ ...goodProduction(t, backend), PORT: 'eighty', LOG_LEVEL: 'loud', DEBUG: 'yes' });
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(err instanceof ConfigError);
    assert.ok(err.findings.every((f) => f.id === 'bastion.E000'));
    for (const name of ['PORT', 'LOG_LEVEL', 'DEBUG']) assert.match(err.message, new RegExp(name));
    assert.throws(
      () => load({ NODE_ENV: 'prod' }),
      (e: unknown) => e instanceof ConfigError && /NODE_ENV/.test(e.message),
    );
  });

  test(`[${backend}] E000 stays quiet for a valid environment and never echoes a value`, (t) => {
    assert.doesNotThrow(() => load(goodProduction(t, backend)));
    const secret = 'x'.repeat(5000);
    assert.throws(
      () => load({ ...goodProduction(t, backend), SECRET_KEY: secret }),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('xxxxxxxxxx'),
    );
  });

  test(`[${backend}] every violation in production is listed at once`, (t) => {
    const loaded = load({
      ...goodProduction(t, backend),
      SECRET_KEY: 'changeme',
      PUBLIC_ORIGIN: 'http://conduit.example.com',
      DEBUG: 'true',
      COOKIE_SECURE: '0',
      CORS_ORIGINS: '*',
      TRUST_PROXY: 'true',
    });
    for (const id of ['bastion.E003', 'bastion.E007', 'bastion.E008', 'bastion.E009', 'bastion.E010', 'bastion.E013']) {
      assert.ok(idsOf(loaded, 'error').includes(id), `missing ${id}`);
    }
  });
}

for (const backend of BACKENDS) {
  test(`[${backend}] development without SECRET_KEY generates a key once, mode 0600, and reuses it`, (t) => {
    const dir = tempDir(t);
    const env = { NODE_ENV: 'development', DATA_DIR: dir, ...backendEnv(backend) };
    const first = load(env);
    const file = join(dir, 'secret_key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), first.config.secretKey);
    assert.equal(first.config.secretKey.length, 64);
    assert.ok(
      first.notices.some((n) => n.includes('secret_key')),
      'the operator is told a key was generated',
    );
    const second = load(env);
    assert.equal(second.config.secretKey, first.config.secretKey);
    assert.deepEqual(second.notices, []);
  });

  test(`[${backend}] a reused development key file is put back to mode 0600`, (t) => {
    const dir = tempDir(t);
    const key = randomKey();
    writeFileSync(join(dir, 'secret_key'), `${key}\n`, { mode: 0o644 });
    chmodSync(join(dir, 'secret_key'), 0o644);
    assert.equal(load({ NODE_ENV: 'development', DATA_DIR: dir, ...backendEnv(backend) }).config.secretKey, key);
    assert.equal(statSync(join(dir, 'secret_key')).mode & 0o777, 0o600);
  });

  test(`[${backend}] strong keys in hex, base64url and plain digits are all accepted`, (t) => {
    const keys = [randomKey(), randomBytes(32).toString('base64url'), '8302957146620391857305198463027718294650381927465501938276401956'];
    for (const key of keys) assert.deepEqual(idsOf(load({ ...goodProduction(t, backend), SECRET_KEY: key })), [], key);
  });

  test(`[${backend}] production without SECRET_KEY never generates one`, (t) => {
    const dir = tempDir(t);
    const loaded = load({ ...goodProduction(t, backend), DATA_DIR: dir, SECRET_KEY: '' });
    assert.ok(idsOf(loaded, 'error').includes('bastion.E001'));
    assert.equal(existsSync(join(dir, 'secret_key')), false);
  });

  test(`[${backend}] the Config object is deep-frozen`, (t) => {
    const { config } = load({
      ...goodProduction(t, backend),
      SECRET_KEY_FALLBACKS: randomKey(),
      TRUST_PROXY: '10.0.0.1,10.0.0.2',
      CORS_ORIGINS: 'https://a.example.com',
    });
    assert.ok(Object.isFrozen(config));
    for (const list of [config.secretKeyFallbacks, config.trustProxy, config.corsOrigins]) assert.ok(Object.isFrozen(list));
    const mutable = config as unknown as { secretKey: string; corsOrigins: string[] };
    assert.throws(() => {
      mutable.secretKey = 'changeme';
    }, TypeError);
    assert.throws(() => mutable.corsOrigins.push('https://evil.example'), TypeError);
  });

  test(`[${backend}] a .env file is read and the real environment wins over it`, (t) => {
    const dir = tempDir(t);
    const fileKey = randomKey();
    const dotenv = join(dir, '.env');
    writeFileSync(dotenv, `SECRET_KEY=${fileKey}\nLOG_LEVEL=debug\nPUBLIC_ORIGIN=https://from-file.example.com\n`);
    const { config } = loadConfig({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn', ...backendEnv(backend) }, dotenvPath: dotenv });
    assert.equal(config.secretKey, fileKey);
    assert.equal(config.publicOrigin, 'https://from-file.example.com');
    assert.equal(config.logLevel, 'warn');
  });

  test(`[${backend}] SECRET_KEY_FALLBACKS is a comma list with blanks and spaces ignored`, (t) => {
    const [a, b] = [randomKey(), randomKey()];
    const { config } = load({ ...goodProduction(t, backend), SECRET_KEY_FALLBACKS: ` ${a} ,, ${b},` });
    assert.deepEqual(config.secretKeyFallbacks, [a, b]);
    assert.deepEqual(load(goodProduction(t, backend)).config.secretKeyFallbacks, []);
  });
}

// The .env file is parsed by Node (util.parseEnv), as dotenv files are written in the wild.
test('a .env file: BOM, export, comments, quotes, multi-line and empty values, CRLF, no expansion', (t) => {
  const dir = tempDir(t);
  const [key, other] = [randomKey(), randomKey()];
  const dotenv = join(dir, '.env');
  const lines = [
    '\uFEFFLOG_LEVEL=debug', // a byte-order mark must not hide the first key
    '# a comment line',
    `export SECRET_KEY=${key} # a trailing comment`,
    'PUBLIC_ORIGIN="https://quoted.example.com"',
    "HOST='local#host'", // a # inside quotes is part of the value
    'CORS_ORIGINS="https://a.example.com,', // a quoted value across lines
    '  https://b.example.com"',
    `SECRET_KEY_FALLBACKS=${key}`,
    `SECRET_KEY_FALLBACKS=${other}`, // the last of a repeated key wins
    'DATABASE_URL=',
  ];
  writeFileSync(dotenv, lines.join('\r\n') + '\r\n');
  const { config } = loadConfig({ env: { DATA_DIR: dir }, dotenvPath: dotenv });
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.secretKey, key);
  assert.equal(config.publicOrigin, 'https://quoted.example.com');
  assert.equal(config.host, 'local#host');
  assert.deepEqual(config.corsOrigins, ['https://a.example.com', 'https://b.example.com']);
  assert.deepEqual(config.secretKeyFallbacks, [other]);
  assert.equal(config.databaseUrl, null);

  // No variable expansion: ${...} is text.
  writeFileSync(dotenv, 'SECRET_KEY_FALLBACKS=${SECRET_KEY}\n');
  assert.deepEqual(loadConfig({ env: { DATA_DIR: dir, SECRET_KEY: key }, dotenvPath: dotenv }).config.secretKeyFallbacks, [
    '${SECRET_KEY}',
  ]);

  // An empty value is read as empty, not skipped: REDIS_PREFIX= is refused, not defaulted.
  writeFileSync(dotenv, 'REDIS_PREFIX=\n');
  assert.throws(
    () => loadConfig({ env: { DATA_DIR: dir, SECRET_KEY: key }, dotenvPath: dotenv }),
    (err: unknown) => err instanceof ConfigError && /REDIS_PREFIX/.test(err.message),
  );
});

// The CLI, as an operator runs it: a child process with only the environment we give it.
const BIN = fileURLToPath(new URL('../bin/conduit.js', import.meta.url));

function bastion(t: TestContext, args: string[], env: Env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = tempDir(t); // no stray .env is read
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

const BAD_PRODUCTION = { SECRET_KEY: 'changeme', PUBLIC_ORIGIN: 'http://conduit.example.com', CORS_ORIGINS: '*', DEBUG: '1' };
const BAD_IDS = ['bastion.E003', 'bastion.E007', 'bastion.E008', 'bastion.E010'];

for (const backend of BACKENDS) {
  test(`[${backend}] \`bastion check\` exits 1 and prints every id for a bad production env`, async (t) => {
    const res = await bastion(t, ['check'], { ...goodProduction(t, backend), ...BAD_PRODUCTION });
    assert.equal(res.code, 1);
    for (const id of BAD_IDS) assert.match(res.stdout, new RegExp(id.replace('.', '\\.')));
  });

  test(`[${backend}] \`bastion check\` exits 0 for a good production env`, async (t) => {
    const env = goodProduction(t, backend);
    const res = await bastion(t, ['check'], env);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.doesNotMatch(res.stdout, /ERROR/);
    assert.ok(!res.stdout.includes(env.SECRET_KEY!), 'the report never prints the key');
    assert.ok(!res.stdout.includes(SMTP_PASSWORD), 'nor the SMTP password');
  });

  test(`[${backend}] \`bastion check\` refuses a bad SMTP_URL and never prints its password`, async (t) => {
    const res = await bastion(t, ['check'], {
      ...goodProduction(t, backend),
      SMTP_URL: `smtp://mailer:${SMTP_PASSWORD}@mail.example.com:587/path?x=1`,
      SMTP_REQUIRE_TLS: 'false',
    });
    assert.equal(res.code, 1);
    assert.match(res.stdout, /bastion\.E018/);
    assert.ok(!(res.stdout + res.stderr).includes(SMTP_PASSWORD));
  });

  test(`[${backend}] \`bastion start\` in production with a bad env refuses, lists the ids and never listens`, async (t) => {
    const res = await bastion(t, ['start'], { ...goodProduction(t, backend), ...BAD_PRODUCTION, PORT: '1' });
    assert.equal(res.code, 1);
    for (const id of BAD_IDS) assert.match(res.stderr, new RegExp(id.replace('.', '\\.')));
    assert.doesNotMatch(res.stdout + res.stderr, /listening/i);
  });
}
