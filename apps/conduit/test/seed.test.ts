import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from 'bastion';
import { BACKENDS, isolate, openDatabase, PG_URL, randomKey } from 'bastion/testing';
import { conduitDb } from '../src/conduit/tables.js';

// `npx bastion seed`: realistic demo data with a progress bar, through the real CLI, on both
// databases; refused in production; and no seeded account can be logged into.

const run = promisify(execFile);

for (const backend of BACKENDS) {
  test(`[${backend}] bastion seed fills an empty database with users, Markdown articles, tags, comments, follows and favorites`, async (t) => {
    const iso = await isolate(backend);
    t.after(() => iso.cleanup());
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_ENV: 'development', SECRET_KEY: randomKey(), ...iso.env };
    delete env.REDIS_URL;
    // The CLI has no search-path option; libpq's `options` puts it in the test's own schema.
    if (iso.searchPath) env.DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${iso.searchPath}`)}`;
    const { stderr } = await run(process.execPath, ['apps/conduit/bin/conduit.js', 'seed', '--users', '12', '--articles', '40'], {
      env,
      timeout: 120_000,
    });
    assert.match(stderr, /seeded 12 users, 40 articles, \d+ comments, \d+ favorites, \d+ follows/);
    assert.match(stderr, /^articles: 40$/m, 'progress was reported to the end (as lines when stderr is not a terminal)');

    const { config } = loadConfig({ env: { ...env, DATABASE_URL: iso.searchPath ? PG_URL : '' }, dotenvPath: null });
    const db = openDatabase(config, iso.searchPath ? { searchPath: iso.searchPath } : {});
    t.after(() => db.close());
    const count = async (table: 'users' | 'articles' | 'comments' | 'follows' | 'favorites' | 'article_tags') =>
      Number(
        (
          await conduitDb(db)
            .selectFrom(table)
            .select(sql<number>`count(*)`.as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.equal(await count('users'), 12);
    assert.equal(await count('articles'), 40);
    for (const table of ['comments', 'follows', 'favorites', 'article_tags'] as const)
      assert.ok((await count(table)) > 0, `${table} were seeded`);
    const article = await conduitDb(db).selectFrom('articles').select(['body', 'body_html']).executeTakeFirstOrThrow();
    assert.match(article.body, /^#{1,3} |\*\*|^- /m, 'bodies are Markdown');
    assert.match(article.body_html, /<(h[1-3]|p|ul|strong)>/, 'and stored rendered');
    const roles = await db.kysely.selectFrom('users').select('role').distinct().execute();
    assert.deepEqual(
      roles.map((r) => r.role),
      ['member'],
      'no seeded admin or moderator',
    );
  });
}

test('bastion seed refuses to run in production and writes nothing', async (t) => {
  const iso = await isolate('sqlite');
  t.after(() => iso.cleanup());
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    SECRET_KEY: randomKey(),
    PUBLIC_ORIGIN: 'https://conduit.example.com',
    DATA_DIR: iso.dataDir,
  };
  const refused = await run(process.execPath, ['apps/conduit/bin/conduit.js', 'seed'], { env }).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  assert.ok(refused, 'exits non-zero');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refuses to run in production/);
  assert.equal(existsSync(join(iso.dataDir, 'bastion.db')), false, 'no database was even opened');
});
