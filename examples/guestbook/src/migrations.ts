import { type AppMigrations, createTableWithId } from 'bastion';

// The guestbook's one table. Its migration names start with `app:` so they sort after Bastion's
// numbered ones and run after them (the users table must exist for the foreign key); a name, once
// released, is never changed.

export const MESSAGE_MAX = 500;

export const guestbookMigrations: AppMigrations = (db) => ({
  'app:001-guestbook-messages': {
    async up(k) {
      await createTableWithId(k, db.dialect, 'guestbook_messages')
        // A deleted account takes its messages with it.
        .addColumn('author_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('body', `varchar(${MESSAGE_MAX})`, (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        // Set by a moderator: the message stays (for the record) but only moderators see it.
        .addColumn('hidden_at', 'varchar(32)')
        .execute();
      await k.schema.createIndex('guestbook_messages_created_at').on('guestbook_messages').column('created_at').execute();
    },
    async down(k) {
      await k.schema.dropTable('guestbook_messages').execute();
    },
  },
});
