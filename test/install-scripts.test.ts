import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

// Install scripts are the usual way a hijacked package runs code on a developer's machine or in
// CI. Only argon2 and better-sqlite3 (native builds) and esbuild (development) may run theirs;
// the project's .npmrc makes npm fail an install that meets any other (npm only warns by
// default). These tests prove it with the npm that runs them: an unknown setting is silently
// ignored by an npm too old to know it, so the policy is checked in action, not only read.

const run = promisify(execFile);
const ROOT = process.cwd();
const ALLOWED = ['argon2', 'better-sqlite3', 'esbuild'];

test('package.json allows install scripts for argon2, better-sqlite3 and esbuild only', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  assert.deepEqual(Object.keys(pkg.allowScripts ?? {}).sort(), ALLOWED);
  assert.ok(Object.values(pkg.allowScripts ?? {}).every((allowed) => allowed === true));
  assert.match(readFileSync(join(ROOT, '.npmrc'), 'utf8'), /^strict-allow-scripts=true$/m);
});

test('every installed package with an install script is one the project allows', async () => {
  const { stdout } = await run('npm', ['query', ':attr(scripts, [install]), :attr(scripts, [preinstall]), :attr(scripts, [postinstall])'], {
    cwd: ROOT,
  });
  const names = [...new Set((JSON.parse(stdout) as Array<{ name: string }>).map((p) => p.name))];
  assert.ok(names.length > 0, 'argon2 and better-sqlite3 have install scripts');
  for (const name of names) assert.ok(ALLOWED.includes(name), `${name} runs an install script it is not allowed to`);
});

test('under the project .npmrc, installing a dependency with an unapproved install script fails and its script never runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-install-scripts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const marker = join(dir, 'PWNED');
  const evil = join(dir, 'evil');
  mkdirSync(evil);
  writeFileSync(
    join(evil, 'package.json'),
    JSON.stringify({
      name: 'evil-pkg',
      version: '1.0.0',
      scripts: { postinstall: `node -e "require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')"` },
    }),
  );
  const app = join(dir, 'app');
  mkdirSync(app);
  copyFileSync(join(ROOT, '.npmrc'), join(app, '.npmrc'));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      private: true,
      dependencies: { 'evil-pkg': 'file:../evil' },
      allowScripts: Object.fromEntries(ALLOWED.map((name) => [name, true])),
    }),
  );
  const outcome = await run('npm', ['install', '--no-audit', '--no-fund', '--install-links'], { cwd: app }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  );
  assert.notEqual(outcome.code, 0, 'the install fails');
  assert.match(outcome.stderr, /ESTRICTALLOWSCRIPTS|not covered by allowScripts/);
  assert.equal(existsSync(marker), false, 'the install script did not run');
});
