import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as englishDictionary, translations } from '@zxcvbn-ts/language-en';
import { FAMOUS_PHRASES } from './famous-phrases.js';

// A guess-count estimate (zxcvbn, as a password cracker would order its guesses): repeats,
// keyboard walks, sequences, dates, l33t spellings, common words and names, famous phrases and
// the user's own names all count as the few guesses they are, where a list lookup sees only
// the exact entries.

/**
 * zxcvbn's score 3: at least 10^8 guesses. At the login limits (at most 100 failures an hour
 * per account, SPEC §3) that is over a century of online guessing; after a database theft each
 * guess costs an argon2id hash (19 MiB, t = 2), so hours of a GPU for one such account, days
 * for 10^10. Score 4 (10^10) would also refuse ordinary 12–14-character choices that NIST
 * SP 800-63B asks us to accept; 10^8 refuses what a cracker tries first.
 */
export const MIN_SCORE = 3;

/**
 * Only this many leading characters are scored. zxcvbn's matching grows faster than linearly with
 * length, and it runs on the event loop: with the library's defaults a hostile 128-character
 * password (random symbols, digits, l33t characters) cost 0.2–1 s on the development machine,
 * 5–18× its first 32 characters. Scored to 32 characters with at most 4 l33t substitutions, the
 * same inputs cost a median 28 ms and at most ~100 ms of CPU there, measured with the machine
 * under heavy load (packages/bastion/test/password-policy.test.ts holds the 128-character cost to its prefix's).
 * Scoring a prefix is conservative: a password is at least as hard to guess as its first
 * characters, and 32 characters zxcvbn rates strong stay strong whatever follows them.
 */
export const SCORED_LENGTH = 32;

/**
 * How many characters the l33t matcher may substitute at once (the library's default is 100).
 * Each allowed substitution multiplies the spellings it tries; on symbol-heavy input the default
 * cost over 10× more than 4, which still finds `p@ssw0rd`, `1l0v3y0u` and `c0rr3ct h0rs3`.
 */
const L33T_MAX_SUBSTITUTIONS = 4;

export type Weakness =
  { readonly kind: 'personal' } | { readonly kind: 'famous' } | { readonly kind: 'guessable'; readonly hint: string | null };

let estimator: ZxcvbnFactory | undefined;

// Built on first use: ranking ~230,000 dictionary words takes ~0.3 s, which a process that never
// sets a password (a worker, a CLI command, most test files) should not pay at start. The server
// builds it before it listens (preparePasswordStrength), so no request waits for it.
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...commonDictionary, ...englishDictionary, famous: [...FAMOUS_PHRASES] },
    graphs: adjacencyGraphs,
    translations,
    maxLength: SCORED_LENGTH,
    l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
  });
  return estimator;
}

/** Builds the estimator now rather than during the first registration. */
export function preparePasswordStrength(): void {
  zxcvbn();
}

/** The user's own names as zxcvbn should know them: whole, and in the parts people reuse. */
function personalWords(names: readonly (string | undefined)[]): string[] {
  const words = new Set<string>(['conduit', 'bastion']);
  for (const name of names) {
    if (!name) continue;
    const lowered = name.toLowerCase();
    const local = lowered.split('@')[0] ?? '';
    const parts = local.split(/\P{L}+/u).filter((p) => p !== '');
    // "carol_smith" is also typed "carolsmith", "carol", "smith" and "smithcarol".
    for (const w of [lowered, local, local.replace(/[^\p{L}\p{N}]+/gu, ''), ...parts, [...parts].reverse().join('')]) {
      if (w.length >= 3) words.add(w);
    }
  }
  return [...words];
}

/** Why a password is too easy to guess, or null when zxcvbn rates it at least MIN_SCORE. */
export function passwordWeakness(password: string, names: readonly (string | undefined)[]): Weakness | null {
  const result: ZxcvbnResult = zxcvbn().check(password, personalWords(names));
  if (result.score >= MIN_SCORE) return null;
  const dictionaries = new Set(result.sequence.filter((m) => m.pattern === 'dictionary').map((m) => String(m.dictionaryName)));
  if (dictionaries.has('userInputs')) return { kind: 'personal' };
  if (dictionaries.has('famous')) return { kind: 'famous' };
  return { kind: 'guessable', hint: result.feedback.warning ?? result.feedback.suggestions[0] ?? null };
}
