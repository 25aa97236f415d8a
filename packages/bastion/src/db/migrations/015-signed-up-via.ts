import type { Migration } from 'kysely/migration';

// users.signed_up_via: the face an account was registered through, 'page' or 'api' (NULL for one
// made by `bastion create-admin`, the seed, or before this migration: all confirmed already).
// SPEC §3 "account mail" ties the confirmation gate to where the account was made, not to the
// face it writes through: by default an account made on the pages writes once its address is
// confirmed (on either face), one made through the RealWorld API writes at once (its spec knows
// no confirmation step) — also on the pages; ACCOUNT_CONFIRMATION=all gates every account.

export const signedUpVia: Migration = {
  async up(db) {
    await db.schema.alterTable('users').addColumn('signed_up_via', 'varchar(8)').execute();
  },
  async down(db) {
    await db.schema.alterTable('users').dropColumn('signed_up_via').execute();
  },
};
