// Response schemas of the hot JSON routes. Fastify compiles each into a serializer
// (fast-json-stringify) once at start: faster than JSON.stringify on every response, and an
// allowlist besides: a field that is not declared here is never sent, whatever a view holds.
// The shapes are RealWorld's, as built field by field in serialize.ts.

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

export const articleListResponse = closed({ articles: { type: 'array', items: articleSummaryShape }, articlesCount: { type: 'integer' } });
export const articleResponse = closed({ article: articleShape });
export const tagsResponse = closed({ tags: { type: 'array', items: str } });
