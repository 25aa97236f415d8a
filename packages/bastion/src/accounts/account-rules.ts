import { passwordProblems } from './password-policy.js';

// The rules for usernames and emails, shared by the API schemas, the HTML forms and the CLI.

export const USERNAME_PATTERN = '^[\\w-]{1,32}$';
export const USERNAME_MAX = 32;
export const EMAIL_MAX = 254;
// Deliberately simple: one @, no spaces or control characters, a dot in the domain.
export const EMAIL_PATTERN = '^[^\\s@<>()[\\]\\\\,;:"]{1,64}@[^\\s@<>()[\\]\\\\,;:"]+\\.[^\\s@<>()[\\]\\\\,;:".]{2,}$';

const usernameRe = new RegExp(USERNAME_PATTERN);
const emailRe = new RegExp(EMAIL_PATTERN);

export type FieldErrors = Record<string, string[]>;

export function accountProblems(input: { username?: string; email?: string; password?: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (input.username !== undefined && !usernameRe.test(input.username)) {
    errors.username = [`must be 1–${USERNAME_MAX} letters, digits, "_" or "-"`];
  }
  if (input.email !== undefined && (input.email.length > EMAIL_MAX || !emailRe.test(input.email))) {
    errors.email = ['is invalid'];
  }
  if (input.password !== undefined) {
    const problems = passwordProblems(input.password, { username: input.username, email: input.email });
    if (problems.length > 0) errors.password = problems;
  }
  return errors;
}

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();
