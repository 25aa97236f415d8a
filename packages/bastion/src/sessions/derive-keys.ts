import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { Config } from '../config/config.js';

// SECRET_KEY is never used directly: each purpose (cookie signatures, CSRF tokens) gets its own
// key derived from it, so a value made for one purpose is worthless for another. The list is
// the current key first, then the fallbacks: the first signs, all verify.

export function deriveKeys(config: Config, purpose: string): Buffer[] {
  return [config.secretKey, ...config.secretKeyFallbacks].map((key) => createHmac('sha256', key).update(`bastion:${purpose}`).digest());
}

/**
 * 256-bit encryption keys for data at rest (RFC 5869 HKDF-SHA-256, the purpose as its info),
 * current key first, then one per fallback: what was sealed under a retired key still opens.
 */
export function deriveEncryptionKeys(config: Config, purpose: string): Buffer[] {
  return [config.secretKey, ...config.secretKeyFallbacks].map((key) =>
    Buffer.from(hkdfSync('sha256', key, 'bastion', `bastion:${purpose}`, 32)),
  );
}

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');
