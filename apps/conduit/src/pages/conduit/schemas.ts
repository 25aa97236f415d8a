import { TAG_MAX } from '../../conduit/tags.js';
import { csrfField } from 'bastion';

// Request schemas shared by the Conduit pages: every object closed, every string bounded.
// Numbers in the URL are read by queryInteger(); bodies are taken exactly as sent.

export { csrfField };

/** A form that sends nothing but its CSRF token (favorite, follow, delete buttons). */
export const buttonBody = {
  type: 'object',
  additionalProperties: false,
  properties: { _csrf: csrfField, next: { type: 'string', maxLength: 2048 } },
} as const;
export interface ButtonBody {
  next?: string;
}

export { pageField } from 'bastion';
export const tagField = { type: 'string', maxLength: TAG_MAX } as const;
