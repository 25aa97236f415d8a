import addressparser from 'nodemailer/lib/addressparser';

// Header values that come from outside the code (a recipient, a subject with a username in it)
// are refused, not cleaned, when they hold a character that could end the header line or
// confuse a mail client: CR and LF above all (header injection: "Bcc:" smuggled into a subject),
// and every other control character. Nodemailer would fold or encode them; refusing is plainer.

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Whether a value holds a character that has no place in a header line. */
export const hasControlCharacter = (value: string): boolean => CONTROL.test(value);

export const MAX_SUBJECT_LENGTH = 255;
const MAX_ADDRESS_LENGTH = 254;
// One bare addr-spec: no display name, no list, no comment, no quoted local part, no spaces.
const ADDRESS = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}$/;

/** One bare address (`someone@example.com`) safe to put in a header, and nothing else. */
export function isSingleAddress(value: string): boolean {
  return value.length <= MAX_ADDRESS_LENGTH && !hasControlCharacter(value) && ADDRESS.test(value) && !value.split('@')[1]!.startsWith('.');
}

/** A subject safe to put in a header: bounded, not empty, no control character. */
export function isSafeSubject(value: string): boolean {
  return value.trim() !== '' && value.length <= MAX_SUBJECT_LENGTH && !hasControlCharacter(value);
}

/** MAIL_FROM: one mailbox, bare or with a display name (`Conduit <no-reply@example.com>`). */
export function isSenderAddress(value: string): boolean {
  if (hasControlCharacter(value) || value.length > 512) return false;
  const parsed = addressparser(value);
  if (parsed.length !== 1) return false;
  const [only] = parsed;
  return only !== undefined && only.group === undefined && isSingleAddress(only.address) && !hasControlCharacter(only.name);
}

/** The part of an address after the last @, lower-cased: what a log line may say about a recipient. */
export const recipientDomain = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
