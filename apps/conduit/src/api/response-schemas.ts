// Response schemas of every JSON route (Bastion refuses an API route without one). Fastify
// compiles each into a serializer (fast-json-stringify) once at start: faster than
// JSON.stringify on every response, and an allowlist besides: a field that is not declared here
// is never sent, whatever a view holds. The shapes are RealWorld's, as built field by field in
// serialize.ts. Errors are not described here: their bodies come from Bastion's error handler.

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

const closed = <P extends Record<string, object>>(properties: P) =>
  ({ type: 'object', additionalProperties: false, required: Object.keys(properties), properties }) as const;

export const profileShape = closed({ username: str, bio: str, image: nullableStr, following: { type: 'boolean' } });

export const articleSummaryShape = closed({
  slug: str,
  title: str,
  description: str,
  tagList: { type: 'array', items: str },
  createdAt: str,
  updatedAt: str,
  favorited: { type: 'boolean' },
  favoritesCount: { type: 'integer' },
  author: profileShape,
});

export const articleShape = closed({ ...articleSummaryShape.properties, body: str });

export const userShape = closed({ email: str, token: str, username: str, bio: str, image: nullableStr });

export const commentShape = closed({ id: { type: 'integer' }, createdAt: str, updatedAt: str, body: str, author: profileShape });

export const articleListResponse = closed({ articles: { type: 'array', items: articleSummaryShape }, articlesCount: { type: 'integer' } });
export const articleResponse = closed({ article: articleShape });
export const tagsResponse = closed({ tags: { type: 'array', items: str } });
export const profileResponse = closed({ profile: profileShape });
export const userResponse = closed({ user: userShape });
export const commentResponse = closed({ comment: commentShape });
export const commentListResponse = closed({ comments: { type: 'array', items: commentShape } });
