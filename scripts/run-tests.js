#!/usr/bin/env node
// Runs every test/**/*.test.ts, examples/*/test/**/*.test.ts and a feature's own src/**/test/*.test.ts with node:test, the TypeScript run through tsx. Node 20's --test
// does not expand globs, so the files are listed here.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale } from './build.js';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return ['fixtures', 'node_modules', 'dist'].includes(name) || name.startsWith('.dist-') ? [] : find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

// The tests run src/ through tsx, but several run the bin as an operator does, and the bin runs
// dist/: rebuilt first when src/ has changed since the last build (a few ms when it has not).
try {
  buildIfStale();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}

const only = process.argv.slice(2);
// The example apps' own suites run with Bastion's: an example that stops working is a broken API.
// A feature's tests live in its folder (apps/conduit/src/conduit/bookmarks/test/), beside its module.
const roots = ['test', ...['packages', 'apps', 'examples'].flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)))];
const files = only.length > 0 ? only : roots.flatMap(find).sort();
// No single test may run past 10 minutes, and the whole run is cut at 75 (CI allows 90), so a
// test that hangs fails with a message instead of holding CI until it is killed.
const TEST_TIMEOUT_MS = 10 * 60_000;
const RUN_TIMEOUT_MS = 75 * 60_000;
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', detached: true },
);
const watchdog = setTimeout(() => {
  console.error(`test run exceeded ${RUN_TIMEOUT_MS / 60_000} minutes: stopping it`);
  process.kill(-child.pid, 'SIGKILL');
  process.exit(1);
}, RUN_TIMEOUT_MS);
// The tests run in their own process group (so the watchdog can stop all of it): pass on ^C.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.kill(-child.pid, signal));
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
