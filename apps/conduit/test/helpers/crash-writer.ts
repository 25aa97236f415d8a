// A writer process for apps/conduit/test/crash-consistency.test.ts: the Conduit services writing as fast as
// they can from several concurrent workers, so that at any moment some multi-row write (an
// article with its 20 tags, a retag, a favorite with its count) is half done. The test kills
// it with SIGKILL. Each write is reported on stdout only after it committed ("ack <kind> <id>"),
// so the test also knows which writes must have survived. Store isolation as in server-entry.ts.
import { randomBytes } from 'node:crypto';
import { loadConfig, openRuntime } from 'bastion';
import { registerUser } from 'bastion/testing';
import { createArticle, favoriteArticle, updateArticle } from '../../src/conduit/articles.js';
import { addComment } from '../../src/conduit/comments.js';
import { conduitMigrations } from '../../src/conduit/migrations/conduit-migrations.js';
import { conduitDb } from '../../src/conduit/tables.js';

const TAGS_PER_WRITE = 20; // test/crash-consistency.test.ts expects this many
const WORKERS = 4;

const { config } = loadConfig({ dotenvPath: null });
const searchPath = process.env.BASTION_TEST_SEARCH_PATH;
const runtime = await openRuntime(config, { migrations: conduitMigrations, ...(searchPath ? { searchPath } : {}) });
const db = conduitDb(runtime.db);

// Pipes are written synchronously on Linux: a line printed is a line the test can read.
const ack = (line: string): void => void process.stdout.write(`ack ${line}\n`);
const tagSet = (n: number): string[] => Array.from({ length: TAGS_PER_WRITE }, (_, i) => `set${n % 5}-tag${i}`);
const password = 'crash-writer kept a plum ledger 71';
const newUser = async () => {
  const name = `w_${randomBytes(5).toString('hex')}`;
  const user = await registerUser(db, { username: name, email: `${name}@example.com`, password });
  ack(`user ${user.id}`);
  return user;
};

const reader = await newUser();
process.stdout.write('ready\n');

async function worker(w: number): Promise<never> {
  const author = await newUser();
  for (let i = 0; ; i++) {
    const article = await createArticle(db, author.id, {
      title: `Worker ${w} article ${i}`,
      description: 'written under load',
      body: `# Part ${i}\n\nSome *Markdown* to render.`,
      tagList: tagSet(i),
    });
    ack(`article ${article.slug}`);
    const comment = await addComment(db, article.slug, reader.id, `comment ${i}`);
    ack(`comment ${comment.id}`);
    await favoriteArticle(db, article.slug, reader.id);
    ack(`favorite ${article.slug}`);
    await updateArticle(
      db,
      article.slug,
      { id: author.id, role: 'member' },
      { body: `# Part ${i}, edited\n\nStill *Markdown*.`, tagList: tagSet(i + 2) },
    );
    ack(`update ${article.slug}`);
  }
}

await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
