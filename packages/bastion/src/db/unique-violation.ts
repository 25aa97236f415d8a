// Recognises a unique-constraint violation from either driver, and names the constraint or
// index it hit, so a race between two writers (the same slug, username or email) becomes a
// clear answer about the right field instead of a 500.

export function isUniqueViolation(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * What the violation hit: PostgreSQL's constraint or index name (`users_email_key`,
 * `users_username_lower`); SQLite's `table.column` for a column constraint, or the index name
 * for an expression index. null when it is not a unique violation or names nothing.
 */
export function violatedUnique(err: unknown): string | null {
  if (!isUniqueViolation(err)) return null;
  const { constraint, message } = err as { constraint?: unknown; message?: unknown };
  if (typeof constraint === 'string') return constraint;
  // better-sqlite3: "UNIQUE constraint failed: users.email" or "… failed: index 'users_username_lower'".
  const named = typeof message === 'string' ? /constraint failed: (?:index '([^']+)'|([\w.]+))/.exec(message) : null;
  return named?.[1] ?? named?.[2] ?? null;
}
