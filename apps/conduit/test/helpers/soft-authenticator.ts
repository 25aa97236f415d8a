import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

// A software WebAuthn authenticator for server-side tests: ES256 keys from node:crypto, a
// "none" attestation, and every field an attacker controls open to forgery (origin, RP ID, user
// verification, the counter, the challenge). It builds exactly the bytes a browser and an
// authenticator would (WebAuthn L3 §6.1 authenticator data, §5.8.1 client data), so the server's
// verification is the real one. The browser tests use Chromium's virtual authenticator instead.

interface SoftCredential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly x: Buffer;
  readonly y: Buffer;
  readonly userHandle: string;
  counter: number;
}

export interface Forgery {
  /** The origin the client data claims (default: the authenticator's). */
  readonly origin?: string;
  /** The RP ID whose hash goes in the authenticator data (default: the options'). */
  readonly rpId?: string;
  /** Whether the UV flag is set (default true). */
  readonly userVerified?: boolean;
  /** The challenge signed (default: the options'). */
  readonly challenge?: string;
  /** The signature counter to report (default: one more than last time). */
  readonly counter?: number;
  /** Which of this authenticator's credentials answers (default: the newest). */
  readonly credentialId?: string;
}

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  constructor(readonly origin: string) {}

  private flags(extra: number, forged: Forgery): number {
    // UP always; UV unless forged off; BE/BS off (a device-bound key).
    return 0x01 | (forged.userVerified === false ? 0 : 0x04) | extra;
  }

  private clientData(type: string, challenge: string, forged: Forgery): Buffer {
    return Buffer.from(
      JSON.stringify({ type, challenge: forged.challenge ?? challenge, origin: forged.origin ?? this.origin, crossOrigin: false }),
    );
  }

  /** Answers registration options as navigator.credentials.create() would. */
  register(options: PublicKeyCredentialCreationOptionsJSON, forged: Forgery = {}): RegistrationResponseJSON {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const credential: SoftCredential = {
      id: randomBytes(32),
      privateKey,
      x: Buffer.from(jwk.x!, 'base64url'),
      y: Buffer.from(jwk.y!, 'base64url'),
      userHandle: options.user.id,
      counter: 0,
    };
    this.credentials.push(credential);
    // COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
    const coseKey = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, credential.x],
      [-3, credential.y],
    ]);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const authData = Buffer.concat([
      sha256(forged.rpId ?? options.rp.id ?? new URL(this.origin).hostname),
      Buffer.from([this.flags(0x40, forged)]), // AT: attested credential data follows
      u32(forged.counter ?? 0),
      Buffer.alloc(16), // AAGUID: none
      idLength,
      credential.id,
      Buffer.from(isoCBOR.encode(coseKey)),
    ]);
    const attestation = new Map<string, Parameters<typeof isoCBOR.encode>[0]>();
    attestation.set('fmt', 'none');
    attestation.set('attStmt', new Map());
    attestation.set('authData', new Uint8Array(authData));
    const attestationObject = isoCBOR.encode(attestation);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, forged)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** Answers authentication options as navigator.credentials.get() would. */
  assert(options: PublicKeyCredentialRequestOptionsJSON, forged: Forgery = {}): AuthenticationResponseJSON {
    const credential =
      forged.credentialId === undefined ? this.credentials.at(-1) : this.credentials.find((c) => b64url(c.id) === forged.credentialId);
    if (!credential) throw new Error('the soft authenticator has no such credential');
    credential.counter = forged.counter ?? credential.counter + 1;
    const authData = Buffer.concat([
      sha256(forged.rpId ?? options.rpId ?? new URL(this.origin).hostname),
      Buffer.from([this.flags(0, forged)]),
      u32(credential.counter),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, forged);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
    };
  }
}
