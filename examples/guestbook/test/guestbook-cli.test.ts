import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { loadConfig, openRuntime } from 'bastion';
import { type BackendName, BACKENDS, freePort, isolate, PG_URL, randomKey } from 'bastion/testing';

// `guestbook <command>` is Bastion's command line with the guestbook's parts (src/cli.ts): its
// migration runs in `migrate` after Bastion's, its deploy check (guestbook.E001) is in the
// `check` report, and an error of its own refuses a production start as Bastion's errors do,
// before the store is touched. Run as an operator runs it: a child process, only our env.

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
// tsx by its location: the CLI runs in the store's directory, where no .env and no node_modules are.
const TSX = import.meta.resolve('tsx');
const TABLE = 'guestbook_messages';
type Env = Record<string, string>;
interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function guestbook(args: string[], env: Env): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', TSX, CLI, ...args],
      { cwd: env.DATA_DIR, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

interface Store {
  readonly env: Env;
  /** Whether the guestbook's table exists in this store (it never exists before a migration). */
  hasTable(): Promise<boolean>;
}

/** An isolated store; on PostgreSQL the CLI reaches its schema through libpq's `options`. */
async function store(t: TestContext, backend: BackendName): Promise<Store> {
  const iso = await isolate(backend);
  t.after(() => iso.cleanup());
  const env: Env = { ...iso.env, SECRET_KEY: randomKey(), LOG_LEVEL: 'warn' };
  if (iso.searchPath) env.DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${iso.searchPath}`)}`;
  return {
    env,
    async hasTable() {
      const { config } = loadConfig({
        env: { ...env, NODE_ENV: 'test', DATABASE_URL: iso.searchPath ? PG_URL : '', REDIS_URL: '' },
        dotenvPath: null,
      });
      const runtime = await openRuntime(config, { migrate: false, ...(iso.searchPath ? { searchPath: iso.searchPath } : {}) });
      try {
        return (await runtime.db.kysely.introspection.getTables()).some((table) => table.name === TABLE);
      } finally {
        await runtime.close();
      }
    },
  };
}

const PRODUCTION = { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://guestbook.example.com' };
const MAIL = { SMTP_URL: 'smtp://mailer:mail-password@mail.example.com:587', MAIL_FROM: 'Guestbook <no-reply@guestbook.example.com>' };

for (const backend of BACKENDS) {
  test(`[${backend}] \`guestbook migrate\` applies Bastion's migrations, then the guestbook's; a second run applies nothing`, async (t) => {
    const s = await store(t, backend);
    assert.equal(await s.hasTable(), false);
    const first = await guestbook(['migrate'], { ...s.env, NODE_ENV: 'development' });
    assert.equal(first.code, 0, first.stderr);
    const applied = /^applied: (.*)$/m.exec(first.stdout)?.[1]?.split(', ') ?? [];
    assert.ok(applied.length > 1 && !applied[0]!.includes(':'), "Bastion's own migrations first");
    assert.equal(applied.at(-1), 'app:001-guestbook-messages', 'the app comes after Bastion');
    assert.equal(await s.hasTable(), true);
    const second = await guestbook(['migrate'], { ...s.env, NODE_ENV: 'development' });
    assert.equal(second.stdout, 'database is up to date\n');
  });

  test(`[${backend}] \`guestbook check\`: the guestbook's error beside Bastion's findings exits 1, and is quiet once mail is configured`, async (t) => {
    const s = await store(t, backend);
    const bare = await guestbook(['check'], { ...s.env, ...PRODUCTION });
    assert.equal(bare.code, 1, bare.stdout + bare.stderr);
    assert.match(bare.stdout, /^Bastion deployment check \(NODE_ENV=production\)$/m);
    assert.match(bare.stdout, /^ERROR guestbook\.E001: SMTP_URL is not set/m);
    assert.match(bare.stdout, /^WARNING bastion\.W002:/m, "Bastion's own findings stay in the report");
    assert.doesNotMatch(bare.stdout, /^ERROR bastion\./m, 'the only error is the app’s');

    const mailed = await guestbook(['check'], { ...s.env, ...PRODUCTION, ...MAIL });
    assert.equal(mailed.code, 0, mailed.stdout + mailed.stderr);
    assert.doesNotMatch(mailed.stdout, /guestbook\.E001|ERROR/);
    assert.ok(!mailed.stdout.includes('mail-password'), 'never the SMTP password');

    const development = await guestbook(['check'], { ...s.env, NODE_ENV: 'development' });
    assert.equal(development.code, 0, 'off outside production');
    assert.doesNotMatch(development.stdout, /guestbook\.E001/);
  });

  test(`[${backend}] \`guestbook start\` in production refuses on the guestbook's own error, before opening the store`, async (t) => {
    const s = await store(t, backend);
    const port = await freePort();
    const refused = await guestbook(['start'], { ...s.env, ...PRODUCTION, HOST: '127.0.0.1', PORT: String(port) });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Bastion refuses to start in production:\nERROR guestbook\.E001: /);
    assert.equal(
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => 'answered',
        () => 'refused',
      ),
      'refused',
    );
    assert.equal(await s.hasTable(), false, 'nothing was migrated');
  });

  test(`[${backend}] \`guestbook start\` serves the guestbook's pages on Bastion, its table migrated, and drains on SIGTERM`, async (t) => {
    const s = await store(t, backend);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH ?? '',
      ...s.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_ORIGIN: origin,
      LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'start'], { cwd: s.env.DATA_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stdout.on('data', (c: Buffer) => (logs += c.toString()));
    child.stderr.on('data', (c: Buffer) => (logs += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    for (
      let tries = 0;
      !(await fetch(`${origin}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
      tries++
    ) {
      assert.equal(child.exitCode, null, `the server exited:\n${logs}`);
      assert.ok(tries < 600, `no /healthz answer:\n${logs}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const page = await fetch(`${origin}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /— Guestbook<\/title>/, "the app's own page and layout");
    assert.match(logs, /Guestbook is listening on /);
    assert.equal(await s.hasTable(), true);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, logs);
  });
}
