import { EMAIL_MAX } from '../../accounts/account-rules.js';
import { queryInteger } from '../../http/query-integer.js';
import { csrfField } from '../../http/form-schemas.js';
import { pageField } from '../../http/paging.js';

// Request schemas and small URL helpers shared by the admin pages. Every object is closed and
// every string bounded, so a form cannot carry a field (an id, a role) it was not built with.

export { csrfField, pageField };

/** A user id or comment id in the path. */
export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: queryInteger({ minimum: 1, maximum: 2_147_483_647 }) },
} as const;
export interface IdParams {
  id: number;
}

/** The list a form was posted from, so the admin lands back on the same filtered page. */
const BACK_PATTERN = '^/admin(/content)?(\\?[A-Za-z0-9%._~+=&-]{0,1000})?$';
export const backField = { type: 'string', maxLength: 1024, pattern: BACK_PATTERN } as const;

/** A form that sends only its CSRF token and where to return (lock, unlock, delete buttons). */
export const buttonBody = {
  type: 'object',
  additionalProperties: false,
  properties: { _csrf: csrfField, back: backField },
} as const;
export interface ButtonBody {
  back?: string;
}

/** The free-text filters: as long as the longest value they are matched against. */
export const searchTermField = { type: 'string', maxLength: EMAIL_MAX, default: '' } as const;

/** `path?k=v…` with empty values left out; the page number only when past the first. */
export function listHref(path: string, params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '' || (key === 'page' && value === 1)) continue;
    query.set(key, String(value));
  }
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** Back to the list the form came from (already checked by BACK_PATTERN), saying what was done. */
export function backWithNotice(back: string | undefined, fallback: string, done: string): string {
  const url = new URL(back ?? fallback, 'http://site.invalid');
  url.searchParams.set('done', done);
  return url.pathname + url.search;
}
