import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** `50%_off\` → `50\%\_off\\` for use with ESCAPE '\'. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// Case-insensitive LIKE matches for the admin filters, the same on SQLite and PostgreSQL: the
// typed text is a bound parameter with LIKE's own wildcards escaped (SQLite has no default
// escape character, hence the explicit ESCAPE), so "a_b" or "100%" match only themselves.

type Column = 'users.username' | 'users.email' | 'audit_log.actor_name' | 'audit_log.ip';

const like = (column: Column, pattern: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape ${'\\'}`;

/** `column` contains `text`, ignoring case. */
export const containsText = (column: Column, text: string): RawBuilder<SqlBool> => like(column, `%${escapeLike(text.toLowerCase())}%`);

/** `column` starts with `text`, ignoring case (an IP prefix such as "10.0."). */
export const startsWithText = (column: Column, text: string): RawBuilder<SqlBool> => like(column, `${escapeLike(text.toLowerCase())}%`);
