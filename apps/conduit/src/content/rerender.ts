import type { ExpressionBuilder } from 'kysely';
import type { Db } from 'bastion';
import { conduitDb, type ConduitDatabase } from '../conduit/tables.js';
import { MarkdownPool, RENDER_THREADS, type RenderOutcome } from './markdown-pool.js';
import { RENDERER } from './renderer-version.js';

// `bastion rerender`: every article whose stored HTML another renderer produced
// (articles.rendered_with, see apps/conduit/src/content/renderer-version.ts) is rendered again from its
// stored Markdown by this one. Only body_html and rendered_with change: not updated_at, not the
// search index (its triggers watch title, description and body), nothing else a reader sees.
//
// Safe beside running servers. Articles are read by id, a batch at a time (keyset: each batch
// starts after the last id, so its cost does not grow with how far the run has come), rendered
// outside any transaction on the renderer threads, and written in one short transaction per
// batch. Each write applies only while the row still holds the Markdown that was rendered and
// the renderer mark that was read: an edit saved meanwhile has rendered its own (newer) source
// and is left as it is, counted as skipped. Run it once every instance runs the new release: an
// instance of the release before, which does not know rendered_with, would leave it unchanged
// when it saves a body.

/**
 * Articles read, rendered and written per batch: usually well under a megabyte of Markdown and
 * HTML held at once, about 90 MB if every body were 100 KB rendering to its bound.
 */
export const RERENDER_BATCH = 100;
export const RERENDER_BATCH_MAX = 1_000;

export interface RerenderOptions {
  readonly batchSize?: number;
  /** Every article, not only those of another renderer (for a change RENDERER does not name). */
  readonly all?: boolean;
  /** The renderer threads to use; by default a pool of the run's own, closed when it ends. */
  readonly pool?: MarkdownPool;
  /** Called after each batch with the counts so far and the articles to do when the run began. */
  readonly onProgress?: (report: RerenderReport, total: number) => void;
}

export interface RerenderRefusal {
  readonly id: number;
  readonly slug: string;
  readonly reason: 'too-large' | 'too-slow';
}

export interface RerenderReport {
  /** The renderer the run wrote with. */
  readonly renderer: string;
  /** Articles read and rendered. */
  examined: number;
  /** Articles whose stored HTML is now different. */
  changed: number;
  /** Articles edited or deleted while they were being rendered: left to that newer write. */
  skipped: number;
  /** Articles whose Markdown this renderer refuses (apps/conduit/src/content/markdown.ts): their old HTML and mark are kept. */
  readonly refused: RerenderRefusal[];
}

// Written as two ranges rather than `<>`, so that both databases answer it from the
// articles_rendered_with index (migration 008).
const otherRenderer = (eb: ExpressionBuilder<ConduitDatabase, 'articles'>) =>
  eb.or([eb('rendered_with', '<', RENDERER), eb('rendered_with', '>', RENDERER)]);

/** How many articles store HTML that another renderer produced. */
export async function articlesFromOtherRenderers(db: Db): Promise<number> {
  const row = await conduitDb(db)
    .selectFrom('articles')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(otherRenderer)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The warning the server logs at start while some stored HTML is another renderer's, or null. */
export async function staleRenderNotice(db: Db): Promise<string | null> {
  const stale = await articlesFromOtherRenderers(db);
  if (stale === 0) return null;
  return `${stale} ${stale === 1 ? 'article stores' : 'articles store'} HTML made by another Markdown renderer than this one (${RENDERER}): run \`bastion rerender\``;
}

/** Renders the sources on `width` threads at once, in order. */
async function renderEach(pool: MarkdownPool, sources: readonly string[], width: number): Promise<RenderOutcome[]> {
  const outcomes: RenderOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sources.length) {
      const i = next++;
      outcomes[i] = await pool.render(sources[i]!);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return outcomes;
}

/** Re-renders the stored HTML of every article of another renderer (or every article); see the top of this file. */
export async function rerenderArticles(db: Db, options: RerenderOptions = {}): Promise<RerenderReport> {
  const batchSize = options.batchSize ?? RERENDER_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > RERENDER_BATCH_MAX)
    throw new RangeError(`batch size must be a whole number from 1 to ${RERENDER_BATCH_MAX}`);
  const all = options.all === true;
  const pool = options.pool ?? new MarkdownPool({ threads: RENDER_THREADS });
  const report: RerenderReport = { renderer: RENDERER, examined: 0, changed: 0, skipped: 0, refused: [] };
  try {
    const total = all
      ? Number(
          (
            await conduitDb(db)
              .selectFrom('articles')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      : await articlesFromOtherRenderers(db);
    if (total === 0) return report;
    for (let after = 0; ;) {
      let query = conduitDb(db).selectFrom('articles').select(['id', 'slug', 'body', 'body_html', 'rendered_with']).where('id', '>', after);
      if (!all) query = query.where(otherRenderer);
      const rows = await query.orderBy('id').limit(batchSize).execute();
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      const outcomes = await renderEach(
        pool,
        rows.map((r) => r.body),
        RENDER_THREADS,
      );
      await conduitDb(db)
        .transaction()
        .execute(async (trx) => {
          for (const [i, row] of rows.entries()) {
            const outcome = outcomes[i]!;
            report.examined++;
            if (!outcome.ok) {
              report.refused.push({ id: row.id, slug: row.slug, reason: outcome.reason });
              continue;
            }
            if (outcome.html === row.body_html && row.rendered_with === RENDERER) continue;
            const written = await trx
              .updateTable('articles')
              .set({ body_html: outcome.html, rendered_with: RENDERER })
              .where('id', '=', row.id)
              .where('body', '=', row.body)
              .where('rendered_with', '=', row.rendered_with)
              .executeTakeFirst();
            if (Number(written.numUpdatedRows) === 0) report.skipped++;
            else if (outcome.html !== row.body_html) report.changed++;
          }
        });
      options.onProgress?.(report, total);
    }
    return report;
  } finally {
    if (options.pool === undefined) await pool.close();
  }
}
