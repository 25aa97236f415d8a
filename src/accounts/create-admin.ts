import type { Config } from '../config/config.js';
import { openRuntime } from '../runtime.js';
import { accountProblems, normalizeEmail, type FieldErrors } from './account-rules.js';
import { hashPassword } from './password-hasher.js';

export type CreateAdminResult = { ok: true; id: number } | { ok: false; errors: FieldErrors };

/** `bastion create-admin`: the only way the first admin comes to exist (no default accounts). */
export async function createAdmin(config: Config, input: { username: string; email: string; password: string }): Promise<CreateAdminResult> {
  const errors = accountProblems(input);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const runtime = await openRuntime(config);
  try {
    const db = runtime.db.kysely;
    const email = normalizeEmail(input.email);
    const taken = await db.selectFrom('users').select(['username', 'email']).where((eb) => eb.or([eb('username', '=', input.username), eb('email', '=', email)])).execute();
    if (taken.length > 0) {
      const found: FieldErrors = {};
      if (taken.some((t) => t.username === input.username)) found.username = ['has already been taken'];
      if (taken.some((t) => t.email === email)) found.email = ['has already been taken'];
      return { ok: false, errors: found };
    }
    const now = new Date().toISOString();
    const row = await db
      .insertInto('users')
      .values({ username: input.username, email, password_hash: await hashPassword(input.password), bio: '', image: null, role: 'admin', locked_at: null, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('audit_log').values({ at: now, event: 'admin.created', actor_id: row.id, actor_name: input.username, ip: 'cli', user_agent: 'bastion create-admin', details: '{}' }).execute();
    return { ok: true, id: row.id };
  } finally {
    await runtime.close();
  }
}
