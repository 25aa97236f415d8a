import { SqliteDialect, SqliteQueryCompiler, type LimitNode, type QueryCompiler } from 'kysely';

// SQLite (3.53 and 3.54, as better-sqlite3 12 and 13 bundle it) plans `LIMIT ?` with the value bound to it, so
// binding that parameter marks the statement as expired (sqlite3ExprIsInteger →
// sqlite3VdbeSetVarmask) and every execution compiles it again: the article list's statement
// took 71 µs instead of 54, the comments' 18 instead of 8. `LIMIT +?` means the same (unary plus changes nothing) but is not
// a bare parameter, so the prepared statement is reused as it is. OFFSET is not affected.

class ReusableLimitCompiler extends SqliteQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    this.append('limit +');
    this.visitNode(node.limit);
  }
}

/** Kysely's SqliteDialect, compiling LIMIT so that SQLite keeps its prepared statements. */
export class BastionSqliteDialect extends SqliteDialect {
  override createQueryCompiler(): QueryCompiler {
    return new ReusableLimitCompiler();
  }
}
