import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { PASSWORD_MAX, passwordProblems } from '../src/accounts/password-policy.js';
import { SCORED_LENGTH } from '../src/accounts/password-strength.js';

// SPEC §3 "password policy" against what a cracker tries first. With a 12-character minimum
// only ~300 entries of any common-password list can match, so `letmeinletmein` passed; a
// guess-count estimate (zxcvbn) now refuses repeats, keyboard walks, famous phrases and the
// user's own names (packages/bastion/src/accounts/password-policy.ts). The same refusals on
// registration and on a password change, through both faces of an app:
// apps/conduit/test/password-policy.test.ts.

const OWNER = { username: 'carol_smith', email: 'carol.smith@example.com' };

/** What a cracker's first million guesses hold, each at least 12 characters. */
const WEAK: readonly string[] = [
  'letmeinletmein', // a common word, repeated
  'qwertyuiopasdf', // a keyboard row
  'correcthorsebatterystaple', // xkcd 936
  'Correct Horse Battery Staple!',
  'correct-horse-battery-staple',
  'maryhadalittlelamb',
  'to be or not to be',
  'Th3QuickBrownF0x!', // a famous phrase in l33t
  'aaaaaaaaaaaaaa', // repeats
  'abcabcabcabc',
  'passwordpassword',
  'p@ssw0rdp@ssw0rd',
  '1qaz2wsx3edc4rfv', // keyboard walks
  'qwertyqwerty12',
  'asdfghjkl;123',
  'zxcvbnm,./1234',
  '1234567890123', // sequences, dates
  'abcdefghijklmn',
  '1990123119901231',
  'carol_smith1234', // the user's own names
  'CarolSmith2024!',
  'carol.smith@example.com',
  'iloveyou123456', // common passwords padded
  'Password1234!',
];

/** Random words and characters: nothing a cracker would reach before 10^8 guesses. */
const STRONG: readonly string[] = [
  'violet-kettle-Tr0mbone-47',
  'glacier-tuba-marmot-41',
  'velvet quarry nimbus',
  'crumpet walrus oboe',
  'jumping-lantern-otter-quilt',
  'Xk9#mP2$vL8@qR4!',
  'nE7kq2vYpL9x',
  'a whole new sentence for 2026',
  randomBytes(12).toString('base64url'),
];

test('weak passwords are refused with a reason in the RealWorld shape', () => {
  for (const password of WEAK) {
    const problems = passwordProblems(password, OWNER);
    assert.equal(problems.length, 1, `${password} is refused`);
    assert.match(problems[0]!, /^is (too common|too easy to guess|a well-known phrase|too similar to your username or email)\b/, password);
    assert.ok(!problems[0]!.includes(password), 'the message does not repeat the password');
  }
});

test('the reason names what was recognised: the user, a famous phrase, a pattern', () => {
  assert.deepEqual(passwordProblems('carol_smith1234', OWNER), ['is too similar to your username or email']);
  assert.deepEqual(passwordProblems('smithcarol1990', OWNER), ['is too similar to your username or email']);
  assert.deepEqual(passwordProblems('correcthorsebatterystaple', OWNER), ['is a well-known phrase; choose a less guessable password']);
  assert.deepEqual(passwordProblems('aaaaaaaaaaaaaa', OWNER), ['is too easy to guess (repeated characters like "aaa" are easy to guess)']);
  assert.deepEqual(passwordProblems('qwertyuiopasdf', OWNER), ['is too easy to guess (this is similar to a commonly used password)']);
  // Someone else's name is only a name: the same shape with another user's name is a pattern, not "personal".
  assert.doesNotMatch(
    passwordProblems('carol_smith1234', { username: 'dave', email: 'dave@example.com' })[0] ?? '',
    /similar to your username/,
  );
});

test('strong passwords are accepted: random words and random characters', () => {
  for (const password of STRONG) assert.deepEqual(passwordProblems(password, OWNER), [], password);
});

test('the SPEC rules still hold: 12–128 characters, the bundled list, no composition rules', () => {
  assert.deepEqual(passwordProblems('Xk9#mP2$vL8', OWNER), ['is too short (minimum is 12 characters)']);
  assert.deepEqual(passwordProblems(`Xk9#mP2$vL8@qR4!${'z'.repeat(PASSWORD_MAX)}`, OWNER), [
    `is too long (maximum is ${PASSWORD_MAX} characters)`,
  ]);
  assert.deepEqual(passwordProblems('1234567890qwerty', OWNER), ['is too common; choose a less guessable password']);
  // Lower case only, no digit, no symbol: fine when it is not guessable.
  assert.deepEqual(passwordProblems('velvet quarry nimbus', OWNER), []);
});

// zxcvbn's matching grows faster than the input: unbounded, a hostile 128-character password
// cost 5–18× a 32-character one (up to ~1 s of the event loop on the development machine).
// Only the first SCORED_LENGTH characters are scored, so the longest costs what its prefix does.
// Compared within one run (best of several), so the machine's speed and noise cancel out.
test('scoring a 128-character hostile password costs about what its scored prefix does', () => {
  assert.ok(SCORED_LENGTH < PASSWORD_MAX);
  const families = ['!"#$%&\'()*+,-./0123456789:;<=>?@[]^_`{|}~ABCdef', '4@8(36#!1|0$5+7%2', '0123456789', 'a4@e3i1!o0s$5t7lgb8'];
  let seed = 7;
  const hostile = (alphabet: string): string =>
    Array.from({ length: PASSWORD_MAX }, () => alphabet[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length]).join('');
  const cost = (password: string): number => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      passwordProblems(password, OWNER);
      best = Math.min(best, Number(process.hrtime.bigint() - start));
    }
    return best;
  };
  passwordProblems(STRONG[0]!, OWNER); // builds the dictionaries outside the measurement
  let short = 0;
  let long = 0;
  for (const alphabet of families) {
    const password = hostile(alphabet);
    short += cost(password.slice(0, SCORED_LENGTH));
    long += cost(password);
  }
  assert.ok(long < short * 3, `128 characters cost ${(long / short).toFixed(1)}× ${SCORED_LENGTH}`);
  // What is past the scored prefix adds guesses, so it cannot make a strong prefix weak.
  assert.deepEqual(passwordProblems(`${'Xk9#mP2$vL8@qR4!nE7kq2vYpL9x-0a3'.slice(0, SCORED_LENGTH)}${'a'.repeat(40)}`, OWNER), []);
});
