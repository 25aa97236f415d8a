import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Compilable } from 'kysely';
import { SEARCH_WORD_MAX, SEARCH_WORDS_MAX } from '../src/conduit/search.js';
import type { ScanOptions } from 'bastion';
import { BACKENDS, newBrowser } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';

// What one article costs to match grows with the length of the words searched for (a
// 200-character word over bodies of `a`×99,000 cost 86 ms per article): a word longer than
// SEARCH_WORD_MAX is refused with the search form and a clear message, before anything is
// read; words past SEARCH_WORDS_MAX are left out, and the page says so.

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);

for (const backend of BACKENDS) {
  test(`[${backend}] a search word over ${SEARCH_WORD_MAX} characters is refused 422 with the form and a message, and nothing is read`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await createUser(runtime);
    await writeArticle(runtime, author.username, { title: 'All a', body: 'a'.repeat(5_000) });
    let scans = 0;
    const unwrapped = runtime.db.scan;
    const original: typeof unwrapped = unwrapped.bind(runtime.db);
    runtime.db.scan = <R>(query: Compilable<R>, options?: ScanOptions): Promise<R[]> => {
      scans++;
      return original(query, options);
    };
    t.after(() => (runtime.db.scan = unwrapped));
    const visitor = newBrowser(app);

    for (const q of ['a'.repeat(200), `fine ${'a'.repeat(SEARCH_WORD_MAX + 1)}`, 'é'.repeat(SEARCH_WORD_MAX + 1)]) {
      const refused = await visitor.get(`/search?q=${encodeURIComponent(q)}`);
      assert.equal(refused.statusCode, 422, q);
      assert.match(refused.body, new RegExp(`Words can be at most ${SEARCH_WORD_MAX} characters long`));
      assert.match(refused.body, /<form class="search-form/, 'the form is there to shorten it');
      assert.deepEqual(titles(refused.body), []);
    }
    assert.equal(scans, 0, 'a refused search reads nothing');

    // One character less is a word like any other (characters, not bytes: é is two in UTF-8).
    for (const q of ['a'.repeat(SEARCH_WORD_MAX), 'é'.repeat(SEARCH_WORD_MAX)]) {
      const found = await visitor.get(`/search?q=${encodeURIComponent(q)}`);
      assert.equal(found.statusCode, 200, q);
    }
    assert.deepEqual(titles((await visitor.get(`/search?q=${'a'.repeat(SEARCH_WORD_MAX)}`)).body), ['All a']);
  });

  test(`[${backend}] words past the first ${SEARCH_WORDS_MAX} are left out, and the page says so`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await createUser(runtime);
    await writeArticle(runtime, author.username, { title: 'one two three four five six seven eight' });
    const visitor = newBrowser(app);
    const eight = await visitor.get('/search?q=one+two+three+four+five+six+seven+eight');
    assert.doesNotMatch(eight.body, /Only the first/);
    const nine = await visitor.get('/search?q=one+two+three+four+five+six+seven+eight+nine');
    assert.equal(nine.statusCode, 200);
    assert.match(nine.body, new RegExp(`Only the first ${SEARCH_WORDS_MAX} words were searched for`));
    assert.deepEqual(titles(nine.body), ['one two three four five six seven eight'], 'the ninth word was not searched for');
  });
}
