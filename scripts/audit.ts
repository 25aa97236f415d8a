// `npm run audit`: what the dependencies are and where they came from, checked before tests.
//  1. `npm ls --all`: no missing, invalid or extraneous package (what runs is what the lock says).
//  2. lockfile-lint: every package in package-lock.json from the npm registry over https, with
//     an integrity hash and a name that matches its URL.
//  3. `npm audit --omit=dev` at AUDIT_LEVEL (default moderate): a production dependency with a
//     known advisory at that level or above fails the run.
//  4. `npm audit signatures`: the registry's signatures and provenance of what is installed.
// Steps 3 and 4 need services beyond the registry's package downloads. Where those cannot be
// reached (these machines answer the advisory endpoint with 405 and cannot resolve Sigstore), the
// step says so plainly and the run goes on: a check that was not made is reported, never
// counted as passed, and never blocks work on a closed network.
import { spawnSync } from 'node:child_process';
import { LEVELS, auditVerdict, signaturesVerdict, type Level } from './audit-verdict.js';

const LEVEL = (process.env.AUDIT_LEVEL ?? 'moderate') as Level;
if (!LEVELS.includes(LEVEL)) {
  console.error(`AUDIT_LEVEL must be one of ${LEVELS.join(', ')}`);
  process.exit(2);
}

const run = (command: string, args: string[]): { code: number; out: string; err: string } => {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 5 * 60_000 });
  return { code: result.status ?? 1, out: result.stdout ?? '', err: result.stderr ?? '' };
};

let failed = false;
const fail = (message: string): void => {
  console.error(`✖ ${message}`);
  failed = true;
};

const tree = run('npm', ['ls', '--all']);
if (tree.code === 0) console.log('✔ npm ls: the installed tree is exactly the lockfile, nothing invalid or extraneous');
else fail(`npm ls found problems:\n${tree.err.trim()}`);

const lock = run('npx', [
  '--no-install',
  'lockfile-lint',
  '--path',
  'package-lock.json',
  '--type',
  'npm',
  '--allowed-hosts',
  'npm',
  '--validate-https',
  '--validate-integrity',
  '--validate-package-names',
]);
if (lock.code === 0) console.log('✔ lockfile-lint: every package from the npm registry over https, with integrity');
else fail(`lockfile-lint:\n${(lock.out + lock.err).trim()}`);

for (const { verdict, line } of [
  auditVerdict(run('npm', ['audit', '--omit=dev', '--json']).out, LEVEL),
  (({ code, out, err }) => signaturesVerdict(code, out + err))(run('npm', ['audit', 'signatures'])),
]) {
  if (verdict === 'fail') fail(line);
  else console.log(`${verdict === 'pass' ? '✔' : '⚠'} ${line}`);
}

process.exit(failed ? 1 : 0);
