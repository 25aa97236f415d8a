import type { Migration } from 'kysely/migration';
import { createTableWithId, type DialectName } from 'bastion';

// Conduit's first tables: articles, tags and their links, favorites, follows and comments. Until
// the split of issue 18 Bastion's '001-initial' made them together with Bastion's own tables;
// this migration makes exactly the same six (same statements, same order of columns), and is
// recorded without running on a database that '001-initial' already made (`replaces`).

export function content(dialect: DialectName): Migration {
  return {
    async up(db) {
      await createTableWithId(db, dialect, 'articles')
        .addColumn('slug', 'varchar(160)', (c) => c.notNull().unique())
        .addColumn('title', 'varchar(255)', (c) => c.notNull())
        .addColumn('description', 'varchar(1024)', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('body_html', 'text', (c) => c.notNull())
        .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('favorites_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('articles_created_at').on('articles').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('articles_author_created').on('articles').columns(['author_id', 'created_at']).execute();

      await createTableWithId(db, dialect, 'tags')
        .addColumn('name', 'varchar(64)', (c) => c.notNull().unique())
        .execute();

      await db.schema
        .createTable('article_tags')
        .addColumn('article_id', 'integer', (c) => c.notNull().references('articles.id').onDelete('cascade'))
        .addColumn('tag_id', 'integer', (c) => c.notNull().references('tags.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('article_tags_pk', ['article_id', 'tag_id'])
        .execute();
      await db.schema.createIndex('article_tags_tag').on('article_tags').columns(['tag_id', 'article_id']).execute();

      await db.schema
        .createTable('favorites')
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('article_id', 'integer', (c) => c.notNull().references('articles.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('favorites_pk', ['user_id', 'article_id'])
        .execute();
      await db.schema.createIndex('favorites_article').on('favorites').columns(['article_id', 'user_id']).execute();

      await db.schema
        .createTable('follows')
        .addColumn('follower_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('followee_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('follows_pk', ['follower_id', 'followee_id'])
        .execute();
      await db.schema.createIndex('follows_followee').on('follows').columns(['followee_id', 'follower_id']).execute();

      await createTableWithId(db, dialect, 'comments')
        .addColumn('article_id', 'integer', (c) => c.notNull().references('articles.id').onDelete('cascade'))
        .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('comments_article').on('comments').columns(['article_id', 'id']).execute();
    },
    async down(db) {
      for (const t of ['comments', 'follows', 'favorites', 'article_tags', 'tags', 'articles'])
        await db.schema.dropTable(t).ifExists().execute();
    },
  };
}
