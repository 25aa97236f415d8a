import { createHmac } from 'node:crypto';
import { DEFAULT_SITE } from '../../config/site.js';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { FastifyInstance } from 'fastify';
import { isUniqueViolation } from '../../db/unique-violation.js';
import type { Runtime } from '../../runtime.js';
import { deriveKeys } from '../../sessions/derive-keys.js';
import { challengeStore, type ChallengePurpose } from './passkey-challenges.js';
import { passkeyStore, type PasskeySummary, type StoredCredential } from './passkey-store.js';

// Passkeys (SPEC §3 "second factor"): WebAuthn credentials, user verification required, as a
// second factor or for password-less sign-in, through @simplewebauthn/server. The relying party
// is PUBLIC_ORIGIN: its hostname is the RP ID, and a response is accepted only from exactly that
// origin, so a look-alike site that relays a ceremony gets signatures this site refuses.
// Every ceremony's challenge is random, kept server-side, bound to the session (or to the
// anonymous sign-in's cookie) and taken once (passkey-challenges.ts): a replayed answer, or one
// to a challenge issued to someone else, finds no challenge and is refused.
// Credentials are discoverable (resident keys), so signing in needs no username: the assertion
// names its credential, and the credential its owner.

export const PASSKEY_NAME_MAX = 64;
export const MAX_PASSKEYS_PER_USER = 20;
/** How long the browser's own prompt stays open; the challenge itself lives five minutes. */
const CEREMONY_TIMEOUT_MS = 120_000;
// Ed25519, ES256, RS256: what authenticators make. Named, so the library does not probe Node for
// ML-DSA (an experimental Web Crypto algorithm in Node 24, which warns on every probe).
const ALGORITHMS = [-8, -7, -257];

/** Why a ceremony's answer was refused: for the audit log, never shown in detail to the client. */
export type PasskeyRefusal =
  | 'no-challenge' // none for this binding: expired, used already, or never issued to it
  | 'unknown-credential' // no such passkey
  | 'wrong-user' // the passkey is another account's than the ceremony's
  | 'invalid' // signature, origin, RP ID, user verification or shape wrong
  | 'counter' // the signature counter went back: a cloned authenticator, or a replay
  | 'duplicate' // registering a credential id that is already stored
  | 'too-many'; // the account already has MAX_PASSKEYS_PER_USER

export type AssertionResult =
  | { readonly ok: true; readonly userId: number; readonly passkeyId: number; readonly name: string }
  | { readonly ok: false; readonly reason: PasskeyRefusal; readonly userId: number | null };

export type RegistrationResult =
  { readonly ok: true; readonly passkeyId: number; readonly name: string } | { readonly ok: false; readonly reason: PasskeyRefusal };

export interface PasskeyUser {
  readonly id: number;
  readonly username: string;
}

export interface Passkeys {
  /** The user's passkeys, oldest first. */
  list(userId: number): Promise<PasskeySummary[]>;
  /** Options for navigator.credentials.create(), the challenge bound to `binding` (the session). */
  registrationOptions(user: PasskeyUser, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /** Verifies the browser's answer to registrationOptions and stores the passkey under `name`. */
  register(user: PasskeyUser, binding: string, response: RegistrationResponseJSON, name: string): Promise<RegistrationResult>;
  /** Options for a password-less sign-in: any discoverable credential of this site. */
  signInOptions(binding: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Verifies a password-less sign-in's assertion: whose passkey it is, or why not. */
  verifySignIn(binding: string, response: AuthenticationResponseJSON): Promise<AssertionResult>;
  /** Options for proving a second factor: only `userId`'s passkeys are offered. */
  twoFactorOptions(userId: number, binding: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** Verifies a second-factor assertion: it must be one of `userId`'s passkeys (for /login/two-factor). */
  verifyTwoFactor(userId: number, binding: string, response: AuthenticationResponseJSON): Promise<AssertionResult>;
  rename(userId: number, passkeyId: number, name: string): Promise<boolean>;
  /** The removed passkey's name, or null when the user has no such passkey. */
  remove(userId: number, passkeyId: number): Promise<string | null>;
  /** Removes every passkey of the user (an admin's second-factor reset); how many there were. */
  removeAll(userId: number): Promise<number>;
}

declare module 'fastify' {
  interface FastifyInstance {
    passkeys: Passkeys;
  }
}

export interface PasskeyOptions {
  readonly now?: () => number;
  /** The relying party's name the authenticator shows (the application's name). */
  readonly rpName?: string;
}

/** A name as the owner typed it, trimmed, its control characters dropped, never empty. */
export function passkeyName(typed: string): string {
  const name = typed
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, PASSKEY_NAME_MAX);
  return name === '' ? 'Passkey' : name;
}

export function createPasskeys(runtime: Runtime, options: PasskeyOptions = {}): Passkeys {
  const db = runtime.db.kysely;
  const now = options.now ?? (() => Date.now());
  const store = passkeyStore(db);
  const challenges = challengeStore(db, now);
  const expectedOrigin = runtime.config.publicOrigin;
  const rpID = new URL(expectedOrigin).hostname;
  // The user handle an authenticator keeps with a discoverable credential: stable per account
  // (a second registration on one authenticator replaces the first), and not the database id.
  const handleKey = deriveKeys(runtime.config, 'passkey-user-handle')[0]!;
  const userHandle = (userId: number): Uint8Array<ArrayBuffer> =>
    new Uint8Array(createHmac('sha256', handleKey).update(String(userId)).digest().subarray(0, 32));
  const at = (): string => new Date(now()).toISOString();
  const descriptor = (c: StoredCredential) => ({ id: c.credentialId, transports: [...c.transports] });

  async function assertionOptions(
    purpose: ChallengePurpose,
    binding: string,
    userId: number | null,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allowCredentials = userId === null ? [] : (await store.credentialsOf(userId)).map(descriptor);
    const opts = await generateAuthenticationOptions({
      rpID,
      allowCredentials,
      userVerification: 'required',
      timeout: CEREMONY_TIMEOUT_MS,
    });
    await challenges.put(purpose, binding, opts.challenge, userId);
    return opts;
  }

  async function verifyAssertion(
    purpose: ChallengePurpose,
    binding: string,
    response: AuthenticationResponseJSON,
    userId: number | null,
  ): Promise<AssertionResult> {
    // The challenge is spent first, whatever follows: one answer per challenge, right or wrong.
    const pending = await challenges.take(purpose, binding);
    if (!pending || pending.userId !== userId) return { ok: false, reason: 'no-challenge', userId };
    const credential = response.id === response.rawId ? await store.byCredentialId(response.id) : null;
    if (!credential) return { ok: false, reason: 'unknown-credential', userId };
    if (userId !== null && credential.userId !== userId) return { ok: false, reason: 'wrong-user', userId };
    let newCounter: number;
    try {
      const verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin,
        expectedRPID: rpID,
        requireUserVerification: true,
        credential: {
          id: credential.credentialId,
          publicKey: Buffer.from(credential.publicKey, 'base64url'),
          counter: credential.signCount,
          transports: [...credential.transports],
        },
      });
      if (!verified.verified) return { ok: false, reason: 'invalid', userId: credential.userId };
      newCounter = verified.authenticationInfo.newCounter;
    } catch (err) {
      // The library says what was wrong by throwing; only a counter that went back is told apart.
      const reason = err instanceof Error && /counter/i.test(err.message) ? 'counter' : 'invalid';
      return { ok: false, reason, userId: credential.userId };
    }
    // Two valid answers with one counter value: only one is recorded, the other is a replay.
    if (!(await store.recordUse(credential, newCounter, at()))) return { ok: false, reason: 'counter', userId: credential.userId };
    return { ok: true, userId: credential.userId, passkeyId: credential.id, name: credential.name };
  }

  return {
    list: (userId) => store.list(userId),

    async registrationOptions(user, binding) {
      const existing = await store.credentialsOf(user.id);
      const opts = await generateRegistrationOptions({
        rpName: options.rpName ?? DEFAULT_SITE.name,
        rpID,
        userName: user.username,
        userDisplayName: user.username,
        userID: userHandle(user.id),
        timeout: CEREMONY_TIMEOUT_MS,
        attestationType: 'none',
        supportedAlgorithmIDs: ALGORITHMS,
        // The browser refuses to make a second passkey on an authenticator that has one already.
        excludeCredentials: existing.map(descriptor),
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      });
      await challenges.put('register', binding, opts.challenge, user.id);
      return opts;
    },

    async register(user, binding, response, name) {
      const pending = await challenges.take('register', binding);
      if (!pending || pending.userId !== user.id) return { ok: false, reason: 'no-challenge' };
      if ((await store.list(user.id)).length >= MAX_PASSKEYS_PER_USER) return { ok: false, reason: 'too-many' };
      let credential;
      try {
        const verified = await verifyRegistrationResponse({
          response,
          expectedChallenge: pending.challenge,
          expectedOrigin,
          expectedRPID: rpID,
          requireUserVerification: true,
          supportedAlgorithmIDs: ALGORITHMS,
        });
        if (!verified.verified) return { ok: false, reason: 'invalid' };
        credential = verified.registrationInfo.credential;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      const stored = passkeyName(name);
      try {
        const passkeyId = await store.add(
          user.id,
          {
            credentialId: credential.id,
            publicKey: Buffer.from(credential.publicKey).toString('base64url'),
            signCount: credential.counter,
            transports: (credential.transports ?? []).slice(0, 8),
            name: stored,
          },
          at(),
        );
        return { ok: true, passkeyId, name: stored };
      } catch (err) {
        if (isUniqueViolation(err)) return { ok: false, reason: 'duplicate' };
        throw err;
      }
    },

    signInOptions: (binding) => assertionOptions('sign-in', binding, null),
    verifySignIn: (binding, response) => verifyAssertion('sign-in', binding, response, null),
    twoFactorOptions: (userId, binding) => assertionOptions('two-factor', binding, userId),
    verifyTwoFactor: (userId, binding, response) => verifyAssertion('two-factor', binding, response, userId),
    rename: (userId, passkeyId, name) => store.rename(userId, passkeyId, passkeyName(name)),
    remove: (userId, passkeyId) => store.remove(userId, passkeyId),
    removeAll: (userId) => store.removeAll(userId),
  };
}

export function registerPasskeys(app: FastifyInstance, runtime: Runtime, options: PasskeyOptions = {}): void {
  app.decorate('passkeys', createPasskeys(runtime, options));
}
