import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

// Queries on the hot path, built and compiled by Kysely once instead of on every request.
// Building a select with joins and subqueries and compiling it to SQL cost more than running it
// on SQLite. A prepared query is built with slots in place of the request's values; Kysely
// compiles each slot to an ordinary bound parameter, and each execution only puts the values in
// the slots' places. The SQL text never changes, so the driver's statement cache always hits.
//
// A slot must stand where Kysely binds a value (`where(col, '=', slot)`, `limit(slot)`), never
// where it expands one (`where(col, 'in', list)`): build one query per list length instead.

class Slot {
  constructor(readonly name: string) {}
}

/** Stands in for the value of `name` while the query is built. */
export type SlotFn<V> = <K extends keyof V & string>(name: K) => V[K];

const slot = ((name: string) => new Slot(name)) as SlotFn<Record<string, unknown>>;

/** `DB`: the tables the query sees; an app's own are added to the stack's (Kysely's $extendTables). */
export class PreparedQuery<V extends object, R, DB = Database> {
  // Per Kysely instance (each has its own dialect) and per shape of the query.
  private readonly compiled = new WeakMap<Kysely<DB>, Map<string, CompiledQuery<R>>>();

  constructor(private readonly build: (db: Kysely<DB>, slot: SlotFn<V>, shape: string) => Compilable<R>) {}

  /** Runs the query of `shape` with `values`; `shape` names a variant the builder makes (e.g. "viewer"). */
  async execute(db: Kysely<DB>, values: V, shape = ''): Promise<R[]> {
    let shapes = this.compiled.get(db);
    if (!shapes) this.compiled.set(db, (shapes = new Map()));
    let query = shapes.get(shape);
    if (!query) {
      query = this.build(db, slot as SlotFn<V>, shape).compile();
      shapes.set(shape, query);
    }
    const parameters = query.parameters.map((p) => {
      if (!(p instanceof Slot)) return p;
      const value = (values as Record<string, unknown>)[p.name];
      if (value === undefined) throw new Error(`prepared query: no value for slot "${p.name}"`);
      return value;
    });
    const result = await db.executeQuery<R>({ ...query, parameters });
    return result.rows;
  }

  async executeTakeFirst(db: Kysely<DB>, values: V, shape = ''): Promise<R | undefined> {
    return (await this.execute(db, values, shape))[0];
  }
}

export const prepared = <V extends object, R, DB = Database>(
  build: (db: Kysely<DB>, slot: SlotFn<V>, shape: string) => Compilable<R>,
): PreparedQuery<V, R, DB> => new PreparedQuery(build);
