#!/usr/bin/env node
// `npm run build` (and `prepare`, which `npm ci` runs): compiles src/ to dist/ with tsc and
// stamps dist/ with the digest of the sources it came from (packages/bastion/bin/build-stamp.js), which the bin
// checks before it runs anything. `--if-stale` skips a build whose stamp still matches src/.
// tsc writes into a fresh directory that then replaces dist/ whole, so a removed module never
// lingers in dist/ and a failed build leaves the previous dist/ (and its stamp) as it was.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP_FILE, readStamp, sourceDigest, staleBuild } from '../packages/bastion/bin/build-stamp.js';

const WORKSPACE = fileURLToPath(new URL('..', import.meta.url));
/** The packages that ship compiled, in build order. */
export const PACKAGES = ['packages/bastion', 'apps/conduit'].map((dir) => join(WORKSPACE, dir));

const require = createRequire(import.meta.url);

/** The installed TypeScript's version, or null without it (installed with --omit=dev). */
function typescriptVersion() {
  try {
    return require('typescript/package.json').version;
  } catch {
    return null;
  }
}

/** Compiles a package's src/ into its dist/; throws with tsc's verdict when it fails. */
function buildPackage(ROOT) {
  const DIST = join(ROOT, 'dist');
  const typescript = typescriptVersion();
  if (!typescript) {
    throw new Error(
      'TypeScript (a dev dependency) is needed to build dist/: install with dev dependencies, build, then `npm prune --omit=dev` if wanted.',
    );
  }
  const tsc = require.resolve('typescript/bin/tsc');
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
  writeFileSync(join(next, STAMP_FILE), `${JSON.stringify({ sources, typescript, builtAt: new Date().toISOString() })}\n`);
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(DIST, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  renameSync(next, DIST);
  rmSync(old, { recursive: true, force: true });
}

/** Builds every package, in order. */
export function build() {
  for (const root of PACKAGES) buildPackage(root);
}

/**
 * Builds only when dist/ is missing, its stamp no longer matches src/, or it was compiled by
 * another TypeScript than the one installed (an upgrade may change the output; the bin does not
 * check this, as production may run without TypeScript); true if it built.
 */
export function buildIfStale() {
  // A package built means the ones after it compile against new declarations: build them too.
  let built = false;
  for (const root of PACKAGES) {
    if (built || packageStale(root)) {
      buildPackage(root);
      built = true;
    }
  }
  return built;
}

function packageStale(ROOT) {
  const DIST = join(ROOT, 'dist');
  const installed = typescriptVersion();
  const compiledBy = readStamp(DIST)?.typescript;
  const stale =
    staleBuild(ROOT) ??
    (installed && compiledBy !== installed
      ? `dist/ was compiled by TypeScript ${compiledBy ?? '(unknown)'}, ${installed} is installed`
      : null);
  if (stale) process.stderr.write(`${ROOT}: ${stale}: building it (npm run build)\n`);
  return stale !== null;
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
