import { randomBytes } from 'node:crypto';
import { buildMigratedApp } from '../../src/app.js';
import type { AttackKitOptions, KnownContent } from 'bastion/testing';

// Conduit as the attack kit sees it (apps/conduit/test/attack-kit.test.ts, apps/conduit/test/route-fuzz.test.ts): the
// builder, the module the fuzzer starts it from, and what the fuzzer aims at besides accounts.

/** The member's article and a comment on it, made again when the fuzz has deleted them. */
const conduitContent: KnownContent = async (call, { member }, known) => {
  const slug = known.slug?.[0];
  const alive = slug ? (await call('GET', `/api/articles/${slug}`)).status === 200 : false;
  const made: Record<string, string[]> = { tag: ['fuzz'], author: [member.username!], favorited: [member.username!] };
  if (alive) return made;
  const article = {
    title: `Fuzz target ${randomBytes(3).toString('hex')}`,
    description: 'Aimed at',
    body: 'Some *Markdown* with [a link](https://example.com).',
    tagList: ['fuzz'],
  };
  const art = await call('POST', '/api/articles', { token: member.token!, json: { article } });
  if (art.status !== 201) throw new Error(`fuzz fixtures: writing an article answered ${art.status}: ${art.body.slice(0, 300)}`);
  const newSlug = (JSON.parse(art.body) as { article: { slug: string } }).article.slug;
  const com = await call('POST', `/api/articles/${newSlug}/comments`, {
    token: member.token!,
    json: { comment: { body: 'A comment to aim at' } },
  });
  const commentId =
    com.status === 200 || com.status === 201 ? String((JSON.parse(com.body) as { comment: { id: number } }).comment.id) : '1';
  return { ...made, slug: [newSlug], id: [commentId, '1', '2'] };
};

export const conduitKit: AttackKitOptions = {
  name: 'Conduit',
  build: buildMigratedApp,
  builderModule: { module: new URL('../../src/app.ts', import.meta.url), exportName: 'buildMigratedApp' },
  // Enumeration, not a hand list: these only prove the kit saw both faces and every method.
  // The bookmarks feature's routes too (apps/conduit/src/conduit/bookmarks/): a feature's routes are the app's.
  mustSee: [
    'GET /search',
    'GET /api/articles',
    'POST /settings/sessions/revoke',
    'DELETE /api/articles/:slug/comments/:id',
    'PUT /api/user',
    'GET /bookmarks',
    'POST /bookmarks/:id/delete',
    'POST /api/articles/:slug/bookmark',
    'DELETE /api/bookmarks/:id',
  ],
  knownContent: conduitContent,
};
