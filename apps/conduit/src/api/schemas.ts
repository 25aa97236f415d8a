import { profileFieldSchemas, queryInteger } from 'bastion';
import { SLUG_MAX } from '../conduit/slugs.js';
import { NAME_IN_PATH_MAX } from '../conduit/route-params.js';
import { TAG_MAX, TAGS_PER_ARTICLE } from '../conduit/tags.js';
import { MAX_OFFSET } from '../conduit/types.js';

// The JSON schemas of the API: every object closed (additionalProperties: false), every string
// bounded. Account rules (patterns, password policy) are checked by the services so the
// answers carry RealWorld's per-field messages.

export const LIMITS = {
  title: 255,
  description: 1024,
  body: 100_000,
  comment: 20_000,
  bio: profileFieldSchemas.bio.maxLength,
  image: profileFieldSchemas.image.maxLength,
} as const;

const str = (maxLength: number, minLength = 0) => ({ type: 'string', minLength, maxLength }) as const;

/** Wraps the fields of a request body in its RealWorld envelope: `{ user: {...} }`. */
export function envelope(name: string, properties: Record<string, object>, required: readonly string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: [name],
    properties: { [name]: { type: 'object', additionalProperties: false, required, properties } },
  } as const;
}

// The account fields are held to Bastion's bounds (packages/bastion/src/accounts/profile-fields.ts).
const { username, email, password } = profileFieldSchemas;

export const registerBody = envelope('user', { username, email, password }, ['username', 'email', 'password']);
// otp: the second factor of an account that has one (a TOTP code or a recovery code), SPEC §2.
export const loginBody = envelope('user', { email, password, otp: str(64) }, ['email', 'password']);
// The same field schemas as the /settings form (packages/bastion/src/accounts/profile-fields.ts).
export const updateUserBody = envelope('user', profileFieldSchemas);

const tagList = { type: 'array', maxItems: TAGS_PER_ARTICLE, items: str(TAG_MAX, 1) } as const;
export const newArticleBody = envelope(
  'article',
  { title: str(LIMITS.title, 1), description: str(LIMITS.description, 1), body: str(LIMITS.body, 1), tagList },
  ['title', 'description', 'body'],
);
export const updateArticleBody = envelope('article', {
  title: str(LIMITS.title, 1),
  description: str(LIMITS.description, 1),
  body: str(LIMITS.body, 1),
  tagList,
});
export const newCommentBody = envelope('comment', { body: str(LIMITS.comment, 1) }, ['body']);

export const commentParams = {
  type: 'object',
  additionalProperties: false,
  required: ['slug', 'id'],
  properties: { slug: str(SLUG_MAX, 1), id: queryInteger({ minimum: 1, maximum: 2_147_483_647 }) },
} as const;

// An offset deeper than MAX_OFFSET is a 422: a database skips offset rows one by one.
const page = {
  limit: queryInteger({ minimum: 1, maximum: 100, default: 20 }),
  offset: queryInteger({ minimum: 0, maximum: MAX_OFFSET, default: 0 }),
} as const;
export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { tag: str(TAG_MAX), author: str(NAME_IN_PATH_MAX), favorited: str(NAME_IN_PATH_MAX), ...page },
} as const;
export const feedQuery = { type: 'object', additionalProperties: false, properties: { ...page } } as const;
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

// The public collection sends `{"user":{"email":…}}` with "follow"; it is accepted and ignored.
export const followBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { user: { type: 'object', additionalProperties: false, properties: { email: str(email.maxLength) } } },
} as const;
