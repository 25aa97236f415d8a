import { TAG_MAX } from '../../conduit/tags.js';
import { queryInteger } from '../../http/query-integer.js';
import { MAX_PAGE } from './paging.js';

// Request schemas shared by the Conduit pages: every object closed, every string bounded.
// Numbers in the URL are read by queryInteger(); bodies are taken exactly as sent.

import { csrfField } from '../../http/form-schemas.js';
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

/** `?page=`: 1 to MAX_PAGE (deeper offsets are refused, see MAX_OFFSET). */
export const pageField = queryInteger({ minimum: 1, maximum: MAX_PAGE, default: 1 });
export const tagField = { type: 'string', maxLength: TAG_MAX } as const;
