import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// AES-256-GCM over a key list (packages/bastion/src/sessions/derive-keys.ts): the first key seals, every key
// opens, so a value sealed before a key rotation (SECRET_KEY_FALLBACKS) still opens after it.
// The sealed form is base64url(iv 12 ‖ tag 16 ‖ ciphertext). `context` is authenticated but not
// stored (GCM's additional data): a value sealed for one user's row does not open in another's.

const IV = 12;
const TAG = 16;

export interface SealedBox {
  seal(plaintext: string, context?: string): string;
  /** The plaintext, or null: malformed, tampered, another context, or sealed under no key we hold. */
  open(sealed: string, context?: string): string | null;
}

export function sealedBox(keys: readonly Buffer[]): SealedBox {
  return {
    seal(plaintext, context = '') {
      const iv = randomBytes(IV);
      const cipher = createCipheriv('aes-256-gcm', keys[0]!, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(sealed, context = '') {
      const bytes = Buffer.from(sealed, 'base64url');
      if (bytes.length < IV + TAG + 1) return null;
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV));
          decipher.setAAD(Buffer.from(context, 'utf8'));
          decipher.setAuthTag(bytes.subarray(IV, IV + TAG));
          return Buffer.concat([decipher.update(bytes.subarray(IV + TAG)), decipher.final()]).toString('utf8');
        } catch {
          // not this key
        }
      }
      return null;
    },
  };
}
