import type { WriteLimitOption } from 'bastion';

// Conduit's content-write limits (SPEC §3), registered with Bastion (createBastion's
// `writeLimits`) and counted per account by `app.writeLimit(request, 'article')`. Creating and
// editing an article both count: an edit re-renders up to 100 KB of Markdown on the renderer
// threads (apps/conduit/src/content/markdown-pool.ts) and rewrites the stored HTML, exactly a new one's cost.
export const CONDUIT_WRITE_LIMITS = {
  article: { points: 10, duration: 60 },
  comment: { points: 30, duration: 60 },
} as const satisfies Record<string, WriteLimitOption>;
