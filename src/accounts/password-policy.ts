import { dictionary } from '@zxcvbn-ts/language-common';

// NIST SP 800-63B style: length 12–128, no composition rules, and refuse passwords that are
// known to be common (zxcvbn's list of ~49,000) or that are just the user's own name or email.

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

const COMMON: ReadonlySet<string> = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

export const commonPasswordCount = (): number => COMMON.size;

/** The problems with a new password, as RealWorld-style messages; empty when it is acceptable. */
export function passwordProblems(password: string, context: { username?: string; email?: string } = {}): string[] {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return [`is too short (minimum is ${PASSWORD_MIN} characters)`];
  if (length > PASSWORD_MAX) return [`is too long (maximum is ${PASSWORD_MAX} characters)`];
  const lowered = password.toLowerCase();
  if (COMMON.has(lowered) || COMMON.has(lowered.replace(/[0-9!@#$%^&*._-]+$/, ''))) return ['is too common; choose a less guessable password'];
  if (new Set(password).size < 4) return ['repeats too few characters; choose a less guessable password'];
  const names = [context.username, context.email, context.email?.split('@')[0]].filter((n): n is string => !!n && n.length >= 4).map((n) => n.toLowerCase());
  if (names.some((n) => lowered.includes(n) && lowered.length - n.length < 6)) return ['is too similar to your username or email'];
  return [];
}
