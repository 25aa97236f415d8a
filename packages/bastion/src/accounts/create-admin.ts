import type { Config } from '../config/config.js';
import type { AppMigrations } from '../db/migrate.js';
import { openRuntime } from '../runtime.js';
import { accountProblems, normalizeEmail, type FieldErrors } from './account-rules.js';
import { takenBy, takenFields } from './account-uniqueness.js';
import { hashPassword } from './password-hasher.js';

export type CreateAdminResult = { ok: true; id: number } | { ok: false; errors: FieldErrors };

/**
 * `bastion create-admin`: the only way the first admin comes to exist (no default accounts). The
 * schema is brought up first, with the application's migrations (`migrations`) after Bastion's.
 */
export async function createAdmin(
  config: Config,
  input: { username: string; email: string; password: string },
  migrations?: AppMigrations,
): Promise<CreateAdminResult> {
  const errors = accountProblems(input);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const runtime = await openRuntime(config, migrations ? { migrations } : {});
  try {
    const db = runtime.db.kysely;
    const email = normalizeEmail(input.email);
    // The same rule as registration: a name taken in any case ("Root" when "root" exists) is taken.
    const taken = await takenFields(db, input.username, email, null);
    if (Object.keys(taken).length > 0) return { ok: false, errors: taken };
    const passwordHash = await hashPassword(input.password);
    const now = new Date().toISOString();
    try {
      const id = await db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('users')
          .values({
            username: input.username,
            email,
            password_hash: passwordHash,
            bio: '',
            image: null,
            role: 'admin',
            locked_at: null,
            created_at: now,
            updated_at: now,
            email_confirmed_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('audit_log')
          .values({
            at: now,
            event: 'admin.created',
            actor_id: row.id,
            actor_name: input.username,
            ip: 'cli',
            user_agent: 'bastion create-admin',
            details: '{}',
          })
          .execute();
        return row.id;
      });
      return { ok: true, id };
    } catch (err) {
      // A registration or another create-admin took the name or address since the read above:
      // the unique indexes (migrations 001 and 007) refused this one.
      const lost = takenBy(err);
      if (lost) return { ok: false, errors: lost };
      throw err;
    }
  } finally {
    await runtime.close();
  }
}
