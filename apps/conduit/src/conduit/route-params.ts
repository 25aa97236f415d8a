import { profileFieldSchemas } from 'bastion';
import { SLUG_MAX } from './slugs.js';

// The path parameters Conduit's routes share: one definition for the API, the pages and the admin
// pages alike. A name a little longer than any username may be is answered as any name without an
// account (404), as the API always has; only far beyond that is it refused as a bad request.

export const NAME_IN_PATH_MAX = profileFieldSchemas.username.maxLength + 32;

export const slugParams = {
  type: 'object',
  additionalProperties: false,
  required: ['slug'],
  properties: { slug: { type: 'string', minLength: 1, maxLength: SLUG_MAX } },
} as const;
export interface SlugParams {
  slug: string;
}

export const usernameParams = {
  type: 'object',
  additionalProperties: false,
  required: ['username'],
  properties: { username: { type: 'string', minLength: 1, maxLength: NAME_IN_PATH_MAX } },
} as const;
export interface UsernameParams {
  username: string;
}
