import type { Config } from './config.js';
import type { Finding } from './deploy-checks.js';

// An application's deploy checks, judged beside Bastion's by `check` and the production start.
// Kept apart from the server so that `check` loads no more than the configuration.

/** An application's deploy check: quiet unless its feature is misconfigured (Django's habit). */
export type DeployCheck = (config: Config) => readonly Finding[];

/** The application's findings; an app check that claims a `bastion.` id is a programming error. */
export function appFindings(config: Config, checks: readonly DeployCheck[]): Finding[] {
  const found = checks.flatMap((check) => check(config));
  const stolen = found.filter((f) => f.id.startsWith('bastion.'));
  if (stolen.length > 0) throw new Error(`deploy check ids under bastion.* are Bastion's: ${stolen.map((f) => f.id).join(', ')}`);
  return found;
}
