import type { FastifyInstance } from 'fastify';
import type { Runtime } from 'bastion';
import { articlePages } from './article-pages.js';
import { commentPages } from './comment-pages.js';
import { editorPages } from './editor-pages.js';
import { feedPages } from './feed-pages.js';
import { profilePages } from './profile-pages.js';
import { searchPages } from './search-pages.js';

// Conduit's HTML face: feed, article, comments, editor, profiles, search. Every page reads
// and writes through the services in apps/conduit/src/conduit/, the same ones the JSON API uses.

export async function conduitPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  await app.register(feedPages, runtime);
  await app.register(articlePages, runtime);
  await app.register(commentPages, runtime);
  await app.register(editorPages, runtime);
  await app.register(profilePages, runtime);
  await app.register(searchPages, runtime);
}
