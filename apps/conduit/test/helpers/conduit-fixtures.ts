import type { Role, Runtime } from 'bastion';
import { createArticle, type ArticleInput } from '../../src/conduit/articles.js';
import { conduitDb } from '../../src/conduit/tables.js';

// Content made straight through the services, for tests that need many articles quickly.

export async function userId(runtime: Runtime, username: string): Promise<number> {
  const row = await runtime.db.kysely.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
  return row.id;
}

export async function setRole(runtime: Runtime, username: string, role: Role): Promise<void> {
  await runtime.db.kysely.updateTable('users').set({ role }).where('username', '=', username).execute();
}

export async function writeArticle(runtime: Runtime, username: string, input: Partial<ArticleInput> = {}): Promise<string> {
  const article = await createArticle(conduitDb(runtime.db), await userId(runtime, username), {
    title: input.title ?? `An article ${Math.random().toString(36).slice(2)}`,
    description: input.description ?? 'About something',
    body: input.body ?? 'Some *Markdown* text.',
    tagList: input.tagList ?? [],
  });
  return article.slug;
}
