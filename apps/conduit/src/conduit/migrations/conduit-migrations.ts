import type { AppMigrations } from 'bastion';
import { content } from './001-content.js';
import { performanceIndexes } from './002-performance.js';
import { search } from './003-search.js';
import { articleTotal } from './005-article-total.js';
import { articleTagList } from './006-article-tag-list.js';
import { renderedWith } from './008-rendered-with.js';

// Conduit's tables, as an application's migrations (`app:` names run after Bastion's). Each of
// these was once a Bastion migration (or, for 001, half of one): `replaces` names it, so a database
// that ran it records the successor without running it again (packages/bastion/src/db/migrate.ts). The numbers are
// kept from those names so the two are easy to match; a new Conduit migration takes the next
// number after the highest here and replaces nothing.

export const conduitMigrations: AppMigrations = (db) => ({
  'app:001-content': { ...content(db.dialect), replaces: '001-initial' },
  'app:002-performance': { ...performanceIndexes(db.dialect), replaces: '002-performance' },
  'app:003-search': { ...search(db.dialect), replaces: '003-search' },
  'app:005-article-total': { ...articleTotal(db.dialect), replaces: '005-article-total' },
  'app:006-article-tag-list': { ...articleTagList(db.dialect), replaces: '006-article-tag-list' },
  'app:008-rendered-with': { ...renderedWith(), replaces: '008-rendered-with' },
});
