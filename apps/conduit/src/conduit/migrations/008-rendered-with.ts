import type { Migration } from 'kysely/migration';

// articles.rendered_with names the renderer that produced the row's body_html
// (apps/conduit/src/content/renderer-version.ts). Rows written before this migration get '' (unknown), so
// the first `bastion rerender` redoes them all; so do rows that an instance still running the
// previous release writes during a rolling upgrade, since it does not know the column. Recorded
// per row rather than once for the database, because instances of two releases may write at
// the same time, each with its own renderer.
//
// The index lets the server's check at start (are any rows rendered by another renderer?) and
// a rerender with nothing to do answer from the index, without reading the articles: on SQLite
// a row's body and HTML come before this column, and reaching it walks their overflow pages.

export function renderedWith(): Migration {
  return {
    async up(db) {
      await db.schema
        .alterTable('articles')
        .addColumn('rendered_with', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema.createIndex('articles_rendered_with').on('articles').column('rendered_with').execute();
    },
    async down(db) {
      await db.schema.dropIndex('articles_rendered_with').execute();
      await db.schema.alterTable('articles').dropColumn('rendered_with').execute();
    },
  };
}
