import Ajv from 'ajv';
import { EMAIL_MAX, USERNAME_MAX } from './account-rules.js';
import { PASSWORD_MAX } from './password-policy.js';

// The fields a user may change about themselves, as one set of JSON schemas that both faces
// validate with: the API's PUT /api/user body and the /settings form. A rule written twice
// drifts (the form once took image URLs the API refused), so each lives here once.

export const BIO_MAX = 2_000;
export const IMAGE_MAX = 2_048;

// Only absolute http(s) URLs (or nothing): no javascript:, data:, protocol-relative or
// scheme-less images, and nothing that could end an attribute or a tag.
const IMAGE_URL_PATTERN = '^(https?://[^\\s<>"]+)?$';

const str = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength }) as const;

export const profileFieldSchemas = {
  username: str(USERNAME_MAX, 1),
  email: str(EMAIL_MAX, 1),
  /** New password. */
  password: str(PASSWORD_MAX * 4, 1),
  /** Needed to change the password or the email (SPEC §2): a stolen token or session alone cannot. */
  currentPassword: str(PASSWORD_MAX * 4),
  bio: { type: ['string', 'null'], maxLength: BIO_MAX },
  image: { type: ['string', 'null'], maxLength: IMAGE_MAX, pattern: IMAGE_URL_PATTERN },
} as const;

// Compiled from the very schema the API body uses, so the form cannot accept what the API refuses.
const imageValidator = new Ajv.default({ strict: true }).compile(profileFieldSchemas.image);

/** True when `image` is an acceptable picture URL (or empty: no picture). */
export const isImageUrl = (image: string): boolean => imageValidator(image);
