#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (no TypeScript loader in production), and only if it was
// built from the sources beside it: a stale or half-built dist/ is refused (bin/build-stamp.js).
// Node.js 24 LTS or later: older lines are past end of life, and the dependencies' current
// releases (sanitize-html, better-sqlite3 13, cookie 2) need newer runtimes.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`Bastion needs Node.js 24 LTS or later; this is Node.js ${process.versions.node}.\n`);
  process.exit(1);
}
const { fileURLToPath } = await import('node:url');
const { staleBuild } = await import('./build-stamp.js');

const stale = staleBuild(fileURLToPath(new URL('..', import.meta.url)));
if (stale) {
  process.stderr.write(`Bastion refuses to run: ${stale}. Build it with \`npm run build\` (\`npm ci\` does, through \`prepare\`).\n`);
  process.exit(1);
}
await import('../dist/conduit-cli.js');
