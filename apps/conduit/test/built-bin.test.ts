import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test, type TestContext } from 'node:test';
import { randomKey } from 'bastion/testing';
import { freePort } from './helpers/server-process.js';

// The bin runs the compiled app in dist/, never the TypeScript sources, and refuses a dist/ that
// was not built from the sources beside it (packages/bastion/bin/build-stamp.js).

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = 'apps/conduit/bin/conduit.js';
const REFUSE_TYPESCRIPT = fileURLToPath(new URL('./helpers/refuse-typescript.mjs', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: options.cwd ?? ROOT, env: { PATH: process.env.PATH ?? '', ...options.env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

before(async () => {
  // The test runner builds before it starts (scripts/run-tests.js); this covers a run of this file alone.
  const built = await run(['scripts/build.js', '--if-stale']);
  assert.equal(built.code, 0, built.stderr);
});

test('the preloaded guard this file relies on does refuse tsx and .ts sources', () => {
  for (const script of ["await import('tsx')", "await import('./apps/conduit/src/conduit-cli.ts')"]) {
    const res = spawnSync(process.execPath, ['--import', REFUSE_TYPESCRIPT, '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    assert.notEqual(res.status, 0, script);
    assert.match(res.stderr, /must run without TypeScript/);
  }
});

test('`bastion start` serves Conduit from dist/ with no TypeScript loaded, its Markdown and SQLite scan threads included', async (t) => {
  const dataDir = tempDir(t);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    SECRET_KEY: randomKey(),
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_ORIGIN: origin,
  };
  // From an empty directory, so nothing is found relative to the working directory by accident.
  const child = spawn(process.execPath, ['--import', REFUSE_TYPESCRIPT, join(ROOT, BIN), 'start'], {
    cwd: dataDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (c: Buffer) => (logs += c.toString()));
  child.stderr.on('data', (c: Buffer) => (logs += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    child.kill('SIGKILL');
    await exited;
  });

  for (let tries = 0; ; tries++) {
    assert.equal(child.exitCode, null, `the server exited:\n${logs}`);
    if (
      await fetch(`${origin}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    assert.ok(tries < 600, `no /healthz answer:\n${logs}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const json = { 'content-type': 'application/json' };
  const registered = await fetch(`${origin}/api/users`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ user: { username: 'builder', email: 'builder@example.com', password: 'violet-kettle-Tr0mbone-47' } }),
  });
  assert.equal(registered.status, 201, await registered.clone().text());
  const { user } = (await registered.json()) as { user: { token: string } };
  const article = { title: 'Compiled quokka', description: 'd', body: 'A **bold** quokka' };
  const posted = await fetch(`${origin}/api/articles`, {
    method: 'POST',
    headers: { ...json, authorization: `Token ${user.token}` },
    body: JSON.stringify({ article }),
  });
  assert.equal(posted.status, 201, `${await posted.clone().text()}\n${logs}`);
  const { article: created } = (await posted.json()) as { article: { slug: string } };

  // Rendered on a Markdown thread when it was written.
  const page = await fetch(`${origin}/article/${created.slug}`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<strong>bold<\/strong>/);
  // A word search reads on a scan reader thread on SQLite.
  const search = await fetch(`${origin}/search?q=quokka`);
  assert.equal(search.status, 200, logs);
  assert.match(await search.text(), /Compiled quokka/);
  assert.doesNotMatch(logs, /must run without TypeScript/);
});

test('an error thrown in the built stack names its TypeScript line in the stack (dist/ carries source maps the bin turns on)', () => {
  assert.match(readFileSync(join(ROOT, BIN), 'utf8'), /^process\.setSourceMapsEnabled\(true\);$/m);
  const script = [
    'process.setSourceMapsEnabled(true);',
    `const { siteIdentity } = await import(${JSON.stringify(join(ROOT, 'packages/bastion/dist/config/site.js'))});`,
    "try { siteIdentity({ name: '' }); } catch (err) { process.stdout.write(err.stack); }",
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.match(run.stdout, /at siteIdentity \(.*packages\/bastion\/src\/config\/site\.ts:\d+:\d+\)/, run.stderr);
});

/** A copy of the workspace to edit: each built package's bin/, src/, dist/ and configs; the dependencies linked, the packages themselves the copies. */
function packageCopy(t: TestContext): string {
  const dir = tempDir(t);
  for (const pkg of ['packages/bastion', 'apps/conduit']) {
    for (const name of ['bin', 'src', 'dist', 'package.json', 'tsconfig.build.json'])
      cpSync(join(ROOT, pkg, name), join(dir, pkg, name), { recursive: true });
  }
  for (const name of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, name), join(dir, name));
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    const own = { bastion: 'packages/bastion', conduit: 'apps/conduit' }[name];
    symlinkSync(own ? join(dir, own) : join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  return dir;
}

const REFUSAL = /Bastion refuses to run: .*npm run build/;

test('the bin refuses a dist/ older than src/ by content, and runs again once they match', async (t) => {
  const dir = packageCopy(t);
  const check = () => run([join(dir, BIN), 'check'], { cwd: tempDir(t), env: { NODE_ENV: 'test', SECRET_KEY: randomKey() } });
  const fresh = await check();
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /deployment check/);

  // One comment added to one source: the build no longer matches it.
  const source = join(dir, 'packages/bastion/src/http/views.ts');
  const original = readFileSync(source);
  appendFileSync(source, '// edited after the build\n');
  const stale = await check();
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, REFUSAL);
  assert.match(stale.stderr, /other sources than those now in src/);
  assert.equal(stale.stdout, '', 'nothing of the app ran');

  // A new source file counts too.
  writeFileSync(source, original);
  writeFileSync(join(dir, 'apps/conduit/src/added.ts'), 'export const added = 1;\n');
  assert.match((await check()).stderr, REFUSAL);
  rmSync(join(dir, 'apps/conduit/src/added.ts'));

  // The same content again, with a newer mtime (as after a git checkout): it runs.
  const restored = await check();
  assert.equal(restored.code, 0, restored.stderr);
});

test('the bin refuses a dist/ with no build stamp (never built, or a build that did not finish)', async (t) => {
  const dir = packageCopy(t);
  rmSync(join(dir, 'apps/conduit/dist/build-stamp.json'));
  const res = await run([join(dir, BIN), 'check'], { cwd: tempDir(t), env: { NODE_ENV: 'test', SECRET_KEY: randomKey() } });
  assert.equal(res.code, 1);
  assert.match(res.stderr, REFUSAL);
  assert.match(res.stderr, /missing or incomplete/);
  assert.equal(res.stdout, '');
});
