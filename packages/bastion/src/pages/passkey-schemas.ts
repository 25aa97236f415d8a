import { PASSKEY_NAME_MAX } from '../accounts/passkeys/passkeys.js';

// The JSON the passkey script (packages/bastion/public/passkeys.js) posts: a WebAuthn response as
// RegistrationResponseJSON / AuthenticationResponseJSON spell it (W3C WebAuthn L3 §5.1.8), every
// binary field base64url with a bound. Generous enough for post-quantum keys and signatures
// (ML-DSA-44: 1,312-byte keys, 2,420-byte signatures) and for the longest credential id (1,023
// bytes); nothing else is accepted.

const b64url = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$' }) as const;
const credentialId = b64url(1400);
const csrfField = { type: 'string', maxLength: 128 } as const;
const common = {
  id: credentialId,
  rawId: credentialId,
  type: { type: 'string', enum: ['public-key'] },
  authenticatorAttachment: { type: 'string', enum: ['platform', 'cross-platform'] },
  // Only what a browser reports for the options we send (credProps on registration).
  clientExtensionResults: {
    type: 'object',
    additionalProperties: false,
    properties: { credProps: { type: 'object', additionalProperties: false, properties: { rk: { type: 'boolean' } } } },
  },
} as const;

const registrationCredential = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'rawId', 'type', 'response', 'clientExtensionResults'],
  properties: {
    ...common,
    response: {
      type: 'object',
      additionalProperties: false,
      required: ['clientDataJSON', 'attestationObject'],
      properties: {
        clientDataJSON: b64url(4096),
        attestationObject: b64url(32768),
        authenticatorData: b64url(16384),
        transports: { type: 'array', maxItems: 8, items: { type: 'string', maxLength: 32, pattern: '^[a-z-]+$' } },
        publicKeyAlgorithm: { type: 'integer', minimum: -65536, maximum: 65536 },
        publicKey: b64url(4096),
      },
    },
  },
} as const;

export const authenticationCredential = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'rawId', 'type', 'response', 'clientExtensionResults'],
  properties: {
    ...common,
    response: {
      type: 'object',
      additionalProperties: false,
      required: ['clientDataJSON', 'authenticatorData', 'signature'],
      properties: {
        clientDataJSON: b64url(4096),
        authenticatorData: b64url(16384),
        signature: b64url(8192),
        userHandle: b64url(128),
      },
    },
  },
} as const;

const json = (properties: Record<string, object>, required: string[]) =>
  ({ type: 'object', additionalProperties: false, required, properties: { ...properties, _csrf: csrfField } }) as const;
const passkeyId = { type: 'string', pattern: '^[0-9]{1,12}$' } as const;
const name = { type: 'string', maxLength: PASSKEY_NAME_MAX } as const;

/** Asking for a ceremony's options: only the CSRF token. */
export const optionsBody = json({}, []);
export const registerBody = json({ name, credential: registrationCredential }, ['name', 'credential']);
export const signInBody = json({ credential: authenticationCredential, next: { type: 'string', maxLength: 2048 } }, ['credential']);
export const renameBody = json({ passkey: passkeyId, name }, ['passkey', 'name']);
export const removeBody = json({ passkey: passkeyId }, ['passkey']);
