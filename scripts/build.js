#!/usr/bin/env node
// `npm run build` (and `prepare`, which `npm ci` runs): compiles src/ to dist/ with tsc and
// stamps dist/ with the digest of the sources it came from (bin/build-stamp.js), which the bin
// checks before it runs anything. `--if-stale` skips a build whose stamp still matches src/.
// tsc writes into a fresh directory that then replaces dist/ whole, so a removed module never
// lingers in dist/ and a failed build leaves the previous dist/ (and its stamp) as it was.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP_FILE, sourceDigest, staleBuild } from '../bin/build-stamp.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

/** Compiles src/ into dist/; throws with tsc's verdict when it fails. */
export function build() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('TypeScript (a dev dependency) is needed to build dist/: install with dev dependencies, build, then `npm prune --omit=dev` if wanted.');
  }
  // Digest first: a source edited while tsc runs leaves a stamp that no longer matches (refused).
  const sources = sourceDigest(ROOT);
  const next = join(ROOT, `.dist-${process.pid}`);
  const old = join(ROOT, `.dist-old-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  const run = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit' });
  if (run.status !== 0) {
    rmSync(next, { recursive: true, force: true });
    throw new Error(`tsc failed (${run.status ?? run.signal}): dist/ left as it was`);
  }
  writeFileSync(join(next, STAMP_FILE), `${JSON.stringify({ sources, builtAt: new Date().toISOString() })}\n`);
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(DIST, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  renameSync(next, DIST);
  rmSync(old, { recursive: true, force: true });
}

/** Builds only when dist/ is missing or its stamp no longer matches src/; true if it built. */
export function buildIfStale() {
  const stale = staleBuild(ROOT);
  if (!stale) return false;
  process.stderr.write(`${stale}: building it (npm run build)\n`);
  build();
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.includes('--if-stale')) buildIfStale();
    else build();
  } catch (err) {
    process.stderr.write(`build: ${err.message}\n`);
    process.exit(1);
  }
}
