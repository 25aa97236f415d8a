import { parseArgs } from 'node:util';
import type { Db } from 'bastion';
import { progressBar } from '../seed/progress.js';
import { RERENDER_BATCH, RERENDER_BATCH_MAX, rerenderArticles } from './rerender.js';

// `bastion rerender [--all] [--batch N]`: after upgrading markdown-it or sanitize-html (or
// changing apps/conduit/src/content/markdown.ts), renders stored article HTML again; see ./rerender.ts.
// Exit 0 when every article is done, 1 when some Markdown was refused by the renderer (named on
// standard error, their old HTML kept), 2 for a usage mistake.

const USAGE = `usage: bastion rerender [--all] [--batch N]
  --all        every article, not only those whose HTML another renderer made
  --batch N    articles per batch (1 to ${RERENDER_BATCH_MAX}, default ${RERENDER_BATCH})
`;

export async function runRerenderCommand(
  openMigratedDatabase: () => Promise<Db>,
  args: string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  let all: boolean;
  let batchSize: number;
  try {
    const { values } = parseArgs({ args, options: { all: { type: 'boolean' }, batch: { type: 'string' } }, strict: true });
    all = values.all === true;
    batchSize = values.batch === undefined ? RERENDER_BATCH : Number(values.batch);
    if (values.batch !== undefined && (!/^\d{1,4}$/.test(values.batch) || batchSize < 1 || batchSize > RERENDER_BATCH_MAX)) {
      throw new RangeError(`--batch must be a whole number from 1 to ${RERENDER_BATCH_MAX}`);
    }
  } catch (err) {
    stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  // The schema brought up to date first (rendered_with is migration 008), on a connection of its
  // own; Redis holds nothing this needs.
  const db = await openMigratedDatabase();
  try {
    const draw = progressBar(stderr);
    let open = false;
    const report = await rerenderArticles(db, {
      all,
      batchSize,
      onProgress: (r, total) => {
        draw('articles', Math.min(r.examined, total), total);
        open = r.examined < total;
      },
    });
    // Articles saved by the app while the run went on are no longer to do: the bar may stop short.
    if (open && stderr.isTTY) stderr.write('\n');
    for (const r of report.refused) {
      stderr.write(
        `article ${r.slug} (id ${r.id}): ${r.reason === 'too-large' ? 'renders too large' : 'takes too long to render'}; its stored HTML is left as it was\n`,
      );
    }
    stdout.write(
      `rendered with ${report.renderer}: examined ${report.examined} ${report.examined === 1 ? 'article' : 'articles'}, changed ${report.changed}, ` +
        `skipped ${report.skipped} (edited meanwhile), refused ${report.refused.length}\n`,
    );
    return report.refused.length > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}
