import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

// RFC 6238 TOTP as every authenticator app reads it: HMAC-SHA-1, 6 digits, 30-second steps
// (apps ignore other parameters or get them wrong). A code is accepted one step either side of
// the server's clock (a phone a little fast or slow, a code typed as it turned over), never two.
// The arithmetic is otpauth's (constant-time comparison included); the clock is the caller's.

export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
export const TOTP_WINDOW = 1;
/** 160 bits: RFC 4226's recommended length, the HMAC-SHA-1 block's natural key. */
const SECRET_BYTES = 20;
const totpOf = (base32: string, label = '', issuer = ''): TOTP =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret: Secret.fromBase32(base32) });

/** A fresh secret, base32 (what the user types into an app if the QR code cannot be scanned). */
export const newTotpSecret = (): string => new Secret({ buffer: new Uint8Array(randomBytes(SECRET_BYTES)).buffer }).base32;

/** The time step a moment belongs to. */
export const stepAt = (ms: number): number => Math.floor(ms / 1000 / TOTP_PERIOD_S);

/** The time step the code belongs to (within the window around `now`), or null. */
export function matchStep(base32: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(base32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    timestamp: now,
    window: TOTP_WINDOW,
  });
  return delta === null ? null : stepAt(now) + delta;
}

/** The code of a moment (tests; an app does this on the phone). */
export const codeAt = (base32: string, ms: number): string => totpOf(base32).generate({ timestamp: ms });

/** The otpauth:// URI an authenticator app scans; `issuer` (the application's name) is what the app lists it under. */
export const otpauthUri = (base32: string, accountName: string, issuer: string): string => totpOf(base32, accountName, issuer).toString();

/**
 * The URI as a QR code, an SVG drawn on the server, as a data: URL for an <img>: no script and no
 * inline style on the page, so the CSP (img-src data:) stays as it is.
 */
export async function qrCodeDataUrl(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}
