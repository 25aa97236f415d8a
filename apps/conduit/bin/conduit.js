#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (no TypeScript loader in production), and only if it was
// built from the sources beside it: a stale or half-built dist/ is refused (packages/bastion/bin/build-stamp.js).
// Node.js 24 LTS or later: older lines are past end of life, and the dependencies' current
// releases (sanitize-html, better-sqlite3 13, cookie 2) need newer runtimes.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`Bastion needs Node.js 24 LTS or later; this is Node.js ${process.versions.node}.\n`);
  process.exit(1);
}
const { fileURLToPath } = await import('node:url');
const { staleBuild } = await import('bastion/build-stamp');

// Conduit's dist/ and the Bastion package's dist/ it runs on, each against its own sources.
const roots = [fileURLToPath(new URL('..', import.meta.url)), fileURLToPath(new URL('..', import.meta.resolve('bastion')))];
for (const root of roots) {
  const stale = staleBuild(root);
  if (stale) {
    process.stderr.write(
      `Bastion refuses to run: ${stale} (${root}). Build it with \`npm run build\` (\`npm ci\` does, through \`prepare\`).\n`,
    );
    process.exit(1);
  }
}
// A stack trace in the logs names the TypeScript line (dist/ carries source maps); only errors pay.
process.setSourceMapsEnabled(true);
await import('../dist/conduit-cli.js');
