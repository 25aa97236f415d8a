import { parentPort } from 'node:worker_threads';
import { renderMarkdownBounded } from './markdown.js';
import type { RenderReply, RenderRequest } from './markdown-pool.js';

// One Markdown renderer thread (apps/conduit/src/content/markdown-pool.ts): renders one source at a time and
// answers with the HTML, or with null when it outgrew its bound. It says when it is ready, so
// the pool's deadline counts rendering only, not loading markdown-it and the sanitizer.

parentPort!.on('message', ({ id, source }: RenderRequest) => {
  const reply: RenderReply = { id, html: renderMarkdownBounded(source) };
  parentPort!.postMessage(reply);
});
parentPort!.postMessage('ready');
