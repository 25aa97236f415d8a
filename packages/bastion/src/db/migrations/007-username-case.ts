import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { DialectName } from '../database.js';

// Usernames are unique regardless of case ("Carol" cannot pose as "carol"), and now the
// database says so: a unique index on lower(username), the same expression on both dialects
// (usernames are ASCII, so SQLite's and PostgreSQL's lower() agree). The services checked it
// with a read before their insert, so two registrations at the same moment both passed, and
// `create-admin` compared case-sensitively.
//
// An existing database may already hold names that differ only in case. Refusing to migrate
// would keep the server from starting over data its users made; instead the account that took
// the name first (the lowest id) keeps it, exactly what the rule would have decided had it held,
// and each later one is renamed deterministically to `<name>-<id>` (cut to fit 32 characters,
// another suffix if even that is taken). Nothing else about an account changes: it signs in by
// email as before, keeps its articles, follows and sessions. Each rename is written to the audit
// log (`username.rename`, with the old and new names) for the operator to read at /admin/audit.
// `down` drops the index and leaves the new names.

const INDEX = 'users_username_lower';
/** The username rule's maximum when this migration was written (a released migration never changes). */
const NAME_MAX = 32;

interface Account {
  readonly id: number;
  readonly username: string;
}

export function usernameCase(dialect: DialectName): Migration {
  return {
    async up(db) {
      const work = async (trx: typeof db) => {
        for (const account of await laterCaseTwins(trx)) await rename(trx, account);
        await trx.schema
          .createIndex(INDEX)
          .on('users')
          .unique()
          .expression(sql`lower(username)`)
          .execute();
      };
      // All or nothing. The migrator runs a PostgreSQL migration in a transaction already; there
      // the table is locked against writers first, so no case twin can be added between the scan
      // and the index. Kysely runs SQLite migrations outside one, so this one opens its own.
      if (dialect === 'postgres') {
        await sql`lock table users in share row exclusive mode`.execute(db);
        await work(db);
      } else {
        await db.transaction().execute(work);
      }
    },
    async down(db) {
      await db.schema.dropIndex(INDEX).execute();
    },
  };
}

/** Every account whose name an older account already holds in another case, oldest first. */
async function laterCaseTwins(db: Kysely<unknown>): Promise<Account[]> {
  // One grouping pass over the table (no index on lower(username) exists yet), then its rows.
  const { rows } = await sql<Account>`
    select u.id, u.username from users u
    join (select lower(username) as name, min(id) as keep from users group by lower(username) having count(*) > 1) twins
      on lower(u.username) = twins.name and u.id <> twins.keep
    order by u.id`.execute(db);
  return rows;
}

async function isTaken(db: Kysely<unknown>, name: string): Promise<boolean> {
  const { rows } = await sql`select 1 from users where lower(username) = ${name.toLowerCase()}`.execute(db);
  return rows.length > 0;
}

async function rename(db: Kysely<unknown>, account: Account): Promise<void> {
  let to = '';
  for (let n = 1; to === '' || (await isTaken(db, to)); n++) {
    const suffix = n === 1 ? `-${account.id}` : `-${account.id}-${n}`;
    to = `${account.username.slice(0, NAME_MAX - suffix.length)}${suffix}`;
  }
  const at = new Date().toISOString();
  await sql`update users set username = ${to}, updated_at = ${at} where id = ${account.id}`.execute(db);
  const details = JSON.stringify({
    targetId: account.id,
    from: account.username,
    to,
    reason: 'an older account has this name in another case',
  });
  await sql`insert into audit_log (at, event, actor_id, actor_name, ip, user_agent, details)
    values (${at}, 'username.rename', null, null, 'migration', '007-username-case', ${details})`.execute(db);
}
