// The guard against running a stale build. `npm run build` (scripts/build.js) compiles each
// package's src/ to its dist/ and writes into it a SHA-256 of what it compiled from: every .ts
// file under src/ (path and content), its tsconfig.build.json and the workspace's tsconfig.json. The bin recomputes it from src/ before it loads
// dist/ and refuses on any difference. Content, not mtimes: git checkout and copies change
// mtimes either way. Reading ~1 MB of sources costs a few milliseconds of the cold start.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const STAMP_FILE = 'build-stamp.json';
const CONFIGS = ['tsconfig.build.json', '../../tsconfig.json'];

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    // A feature's own tests (apps/conduit/src/conduit/bookmarks/test/) are not built (tsconfig.build.json's exclude).
    if (entry.isDirectory()) return entry.name === 'test' ? [] : tsFiles(path);
    return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The digest of what a build of `root` compiles from. */
export function sourceDigest(root) {
  const hash = createHash('sha256');
  const files = tsFiles(join(root, 'src')).map((path) => relative(root, path).split(sep).join('/'));
  for (const name of [...files.sort(), ...CONFIGS]) {
    const content = existsSync(join(root, name)) ? readFileSync(join(root, name)) : Buffer.alloc(0);
    // Name and length first: moving bytes from one file to the next changes the digest.
    hash.update(`${name}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

export function readStamp(distDir) {
  try {
    return JSON.parse(readFileSync(join(distDir, STAMP_FILE), 'utf8'));
  } catch {
    return null;
  }
}

/** Why dist/ must not run, or null when it was built from the sources in src/. */
export function staleBuild(root) {
  const stamp = readStamp(join(root, 'dist'));
  if (!stamp) return 'dist/ is missing or incomplete';
  // A copy without the TypeScript sources has nothing to be stale against.
  if (!existsSync(join(root, 'src'))) return null;
  return stamp.sources === sourceDigest(root) ? null : 'dist/ was built from other sources than those now in src/';
}
