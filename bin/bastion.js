#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step, so `npx bastion`
// can never run stale compiled code.
// Node.js 24 LTS or later: older lines are past end of life, and the dependencies' current
// releases (sanitize-html, better-sqlite3 13, cookie 2) need newer runtimes.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`Bastion needs Node.js 24 LTS or later; this is Node.js ${process.versions.node}.\n`);
  process.exit(1);
}
const { register } = await import('tsx/esm/api');

register();
await import('../src/cli.ts');
