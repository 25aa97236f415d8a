import { dictionary } from '@zxcvbn-ts/language-common';
import { passwordWeakness, type Weakness } from './password-strength.js';

// NIST SP 800-63B style (SPEC §3): length 12–128, no composition rules, refuse passwords known
// to be common (zxcvbn's list of ~49,000). With a 12-character minimum only ~300 entries of any
// such list can ever match, so a guess-count estimate refuses the rest of what a cracker tries
// first: repeats, keyboard walks, famous phrases, the user's own names (password-strength.ts).
// Runs where a password is set (registration, a change, create-admin), never at login.

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

const COMMON: ReadonlySet<string> = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

export const commonPasswordCount = (): number => COMMON.size;

const TOO_COMMON = 'is too common; choose a less guessable password';

// "monkey123!" is the listed "monkey" with the digits and symbols people add to reach a length.
const PADDING: ReadonlySet<string> = new Set('0123456789!@#$%^&*._-');
function withoutPadding(lowered: string): string {
  let end = lowered.length;
  while (end > 0 && PADDING.has(lowered[end - 1]!)) end--;
  return lowered.slice(0, end);
}

function weaknessMessage(weakness: Weakness): string {
  switch (weakness.kind) {
    case 'personal':
      return 'is too similar to your username or email';
    case 'famous':
      return 'is a well-known phrase; choose a less guessable password';
    case 'guessable': {
      // zxcvbn's own advice ("Repeated characters like "aaa" are easy to guess."), as a clause.
      const hint = weakness.hint?.replace(/\.$/, '');
      return hint ? `is too easy to guess (${hint.charAt(0).toLowerCase()}${hint.slice(1)})` : 'is too easy to guess';
    }
  }
}

/** The problems with a new password, as RealWorld-style messages; empty when it is acceptable. */
export function passwordProblems(password: string, context: { username?: string; email?: string } = {}): string[] {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return [`is too short (minimum is ${PASSWORD_MIN} characters)`];
  if (length > PASSWORD_MAX) return [`is too long (maximum is ${PASSWORD_MAX} characters)`];
  const lowered = password.toLowerCase();
  if (COMMON.has(lowered) || COMMON.has(withoutPadding(lowered))) return [TOO_COMMON];
  const weakness = passwordWeakness(password, [context.username, context.email]);
  return weakness ? [weaknessMessage(weakness)] : [];
}
