import type pg from 'pg';

// A query whose server has not answered in time fails ("Query read timeout", a 503 like any
// database outage) and its connection is closed, so the pool opens a fresh one instead of handing
// the stuck client to the next request. PostgreSQL's statement_timeout cannot do this for a
// server that answers nothing at all (hung, or cut off by the network).
//
// pg's own query_timeout did the first half but kept the stuck client in the pool, and its
// timer per query, holding the query and its rows, made the garbage collector compact the old
// generation eight times as often: 45–65 µs more CPU per list page (docs/performance.md, 21).
// Here one timer sweeps every query in flight, and only while there are any.

interface InFlight {
  readonly client: pg.PoolClient;
  readonly deadline: number;
  readonly reject: (err: Error) => void;
}

export class QueryDeadlines {
  private readonly inFlight = new Set<InFlight>();
  private sweeper: NodeJS.Timeout | null = null;

  /** Queries fail `timeoutMs` after they are sent, give or take one sweep (`sweepMs`). */
  constructor(
    private readonly timeoutMs: number,
    private readonly sweepMs = Math.min(1_000, timeoutMs),
  ) {}

  /** Runs `query` on `client` (pg's callback form: pg's promise form cost as much as its timer). */
  run(client: pg.PoolClient, query: pg.QueryConfig): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      const entry: InFlight = { client, deadline: Date.now() + this.timeoutMs, reject };
      this.inFlight.add(entry);
      this.sweeper ??= setInterval(this.sweep, this.sweepMs).unref();
      try {
        client.query(query, (err: Error | undefined, result: pg.QueryResult) => {
          this.inFlight.delete(entry);
          if (err) reject(err);
          else resolve(result);
        });
      } catch (err) {
        // Refused before it was sent: nothing is in flight, the connection is fine.
        this.inFlight.delete(entry);
        throw err;
      }
    });
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const entry of this.inFlight) {
      if (entry.deadline > now) continue;
      this.inFlight.delete(entry);
      entry.reject(new Error('Query read timeout'));
      // With a query still active, pg closes the socket at once; the pool, seeing the client
      // ending when it comes back, removes it.
      entry.client.end().catch(() => {});
    }
    if (this.inFlight.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  };
}
