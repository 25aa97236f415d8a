import { mailTime } from './two-factor.js';

// The "two-factor sign-in changed" notice (SPEC §3: the owner hears of every change to how the
// account signs in), with no link: what changed and when.

const WHAT = {
  enabled: 'two-factor sign-in was turned on with an authenticator app, and every other session and API token was ended',
  disabled: 'two-factor sign-in was turned off, and every other session and API token was ended',
  reset:
    'an administrator removed your authenticator app, recovery codes and passkeys: every session and API token of your account was ended, and it signs in with its password alone until you set two-factor sign-in up again',
  codes: 'a new set of recovery codes was made: the old ones no longer work, and every other session and API token was ended',
} as const;

export type TwoFactorChange = keyof typeof WHAT;

export const twoFactorChangedMail = (username: string, change: TwoFactorChange, at: number): Record<string, string> => ({
  username,
  at: mailTime(at),
  what: WHAT[change],
});
