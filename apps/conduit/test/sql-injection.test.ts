import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from 'bastion';
import { BACKENDS, loggedInBrowser, newBrowser, registeredBrowser, STACK_TABLE_NAMES, type TestResponse } from 'bastion/testing';
import { makeUser, postArticle, STRONG_PASSWORD, type TestUser } from './helpers/conduit-api.js';
import { writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { CONDUIT_TABLE_NAMES, conduitDb } from '../src/conduit/tables.js';

const TABLE_NAMES = [...STACK_TABLE_NAMES, ...CONDUIT_TABLE_NAMES] as const;

// SQL injection, attacked from outside: a corpus of classic payloads goes into every query
// parameter, path parameter, JSON field and form field that reaches the database. Every answer
// must be the one an ordinary value would get (an empty list, a 404, a 401/422), never a 5xx,
// never SQL error text; what is stored must come back byte for byte; and afterwards the database
// is whole: no user row more or less than the test made, the canary article untouched, every
// table still there. LIKE's wildcards must be plain characters to search.

const PAYLOADS = [
  "' OR '1'='1",
  "' OR '1'='1' --",
  "' OR 1=1 --",
  '" OR ""="',
  '") OR ("a"="a',
  '1; DROP TABLE users--',
  "'; DROP TABLE articles; --",
  "') UNION SELECT password_hash FROM users--",
  "' UNION SELECT username, password_hash FROM users --",
  "%' --",
  '%',
  '_',
  '\\',
  "\\'",
  '$1',
  "admin'--",
  "admin'/*",
  '1 OR 1=1',
  "1' ORDER BY 99--",
  "' OR EXISTS(SELECT 1 FROM users)--",
  "' AND 1=CAST((SELECT email FROM users LIMIT 1) AS int)--",
  "'; SELECT pg_sleep(5); --",
  "' || (SELECT sqlite_version()) || '",
] as const;

// What a database error leaking into an answer looks like, on either engine (case matters: the
// payloads themselves say `sqlite_version`, and some answers echo what was sent).
const SQL_ERROR =
  /SQLITE_|SqliteError|syntax error|unrecognized token|unterminated quoted|at or near|no such (table|column)|does not exist|invalid input syntax|DatabaseError|\bpg-protocol\b|kysely/;

let address = 0;
/** Each request from its own client, so the per-IP limits (login, registration, 300/min) never answer instead of the code under test. */
const nextAddress = (): string => {
  address += 1;
  return `10.77.${(address >> 8) & 255}.${address & 255}`;
};

function send(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  options: { body?: unknown; user?: TestUser } = {},
): Promise<TestResponse> {
  return app.inject({
    method,
    url,
    remoteAddress: nextAddress(),
    headers: { ...(options.user?.headers ?? {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
  });
}

const enc = encodeURIComponent;
/** An ordinary value that matches nothing, as long as the payload (so length limits answer alike). */
const ordinary = (p: string): string => 'q'.repeat(p.length);

/** No server error and no database message, whatever the status. */
function harmless(res: TestResponse, label: string): void {
  assert.ok(res.statusCode < 500, `${label}: got ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.doesNotMatch(res.body, SQL_ERROR, `${label}: SQL error text in the answer`);
}

/** The JSON answer without its per-request id. */
function answer(res: TestResponse): unknown {
  const body = res.json() as Record<string, unknown>;
  delete body.requestId;
  return body;
}

/** The probe got exactly what the ordinary value got. */
function sameJson(res: TestResponse, baseline: TestResponse, label: string): void {
  harmless(res, label);
  assert.equal(res.statusCode, baseline.statusCode, `${label}: status`);
  assert.deepEqual(answer(res), answer(baseline), `${label}: body`);
}

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);
const errorList = (html: string): string => /<ul class="errors">([\s\S]*?)<\/ul>/.exec(html)?.[1]?.trim() ?? '';

interface Snapshot {
  readonly users: number;
  readonly canary: unknown;
  readonly hashes: unknown;
}

async function count(runtime: Runtime, table: (typeof TABLE_NAMES)[number]): Promise<number> {
  const row = await conduitDb(runtime.db)
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function snapshot(runtime: Runtime, canarySlug: string): Promise<Snapshot> {
  const db = conduitDb(runtime.db);
  return {
    users: await count(runtime, 'users'),
    canary: await db
      .selectFrom('articles')
      .select(['id', 'slug', 'title', 'description', 'body', 'author_id'])
      .where('slug', '=', canarySlug)
      .executeTakeFirst(),
    hashes: await db.selectFrom('users').select(['id', 'username', 'email', 'password_hash', 'role']).orderBy('id').execute(),
  };
}

/** Every table answers, the users are who they were (plus `added`), the canary article is unchanged. */
async function assertIntact(runtime: Runtime, before: Snapshot, canarySlug: string, added = 0): Promise<void> {
  for (const table of TABLE_NAMES) await count(runtime, table);
  const now = await snapshot(runtime, canarySlug);
  assert.ok(now.canary, 'the canary article is still there');
  assert.deepEqual(now.canary, before.canary, 'the canary article is unchanged');
  assert.equal(now.users, before.users + added, 'the users table has exactly the rows it should');
  assert.deepEqual(
    (now.hashes as unknown[]).slice(0, (before.hashes as unknown[]).length),
    before.hashes,
    'no existing account was changed',
  );
}

/** No error-level line in the app's log (a 5xx swallowed somewhere would leave one). */
function assertNoErrorLogs(logs: string): void {
  const errors = logs.split('\n').filter((line) => /"level":(?:50|60)/.test(line));
  assert.deepEqual(errors, [], 'the app logged errors');
}

test('the payload corpus is what it claims: ~20 classic probes, none of which looks like a database error itself', () => {
  assert.ok(PAYLOADS.length >= 20);
  for (const p of PAYLOADS) assert.doesNotMatch(p, SQL_ERROR, p);
});

for (const backend of BACKENDS) {
  test(`[${backend}] SQL injection in the API's query and path parameters gets the answer an unknown value gets, and the database stays whole`, async (t) => {
    const { app, runtime, logs } = await startTestApp(t, backend);
    const author = await makeUser(app, runtime, 'canary_author');
    const reader = await makeUser(app, runtime, 'canary_reader');
    const canary = await postArticle(app, author, {
      title: 'Canary article',
      description: 'Still standing',
      body: 'The canary sings.',
      tagList: ['canary'],
    });
    const commentId = (
      await send(app, 'POST', `/api/articles/${canary}/comments`, { user: reader, body: { comment: { body: 'canary comment' } } })
    ).json().comment.id as number;
    const before = await snapshot(runtime, canary);

    const probes: Array<[string, (v: string) => Promise<TestResponse>]> = [
      ['?tag=', (v) => send(app, 'GET', `/api/articles?tag=${enc(v)}`)],
      ['?author=', (v) => send(app, 'GET', `/api/articles?author=${enc(v)}`)],
      ['?favorited=', (v) => send(app, 'GET', `/api/articles?favorited=${enc(v)}`)],
      ['?limit=', (v) => send(app, 'GET', `/api/articles?limit=${enc(v)}`)],
      ['?offset=', (v) => send(app, 'GET', `/api/articles?tag=canary&offset=${enc(v)}`)],
      ['feed ?limit=', (v) => send(app, 'GET', `/api/articles/feed?limit=${enc(v)}`, { user: reader })],
      ['GET profile', (v) => send(app, 'GET', `/api/profiles/${enc(v)}`)],
      ['follow', (v) => send(app, 'POST', `/api/profiles/${enc(v)}/follow`, { user: reader })],
      ['GET article', (v) => send(app, 'GET', `/api/articles/${enc(v)}`)],
      ['GET comments', (v) => send(app, 'GET', `/api/articles/${enc(v)}/comments`)],
      ['favorite', (v) => send(app, 'POST', `/api/articles/${enc(v)}/favorite`, { user: reader })],
      ['DELETE article', (v) => send(app, 'DELETE', `/api/articles/${enc(v)}`, { user: reader })],
      ['DELETE comment id', (v) => send(app, 'DELETE', `/api/articles/${canary}/comments/${enc(v)}`, { user: reader })],
    ];
    // The ordinary answers are the refusals they should be, so "the same answer" means something.
    const q = ordinary('xxxxx');
    assert.deepEqual(answer(await send(app, 'GET', `/api/articles?tag=${q}`)), { articles: [], articlesCount: 0 });
    assert.equal((await send(app, 'GET', `/api/articles?limit=${q}`)).statusCode, 422);
    assert.equal((await send(app, 'GET', `/api/profiles/${q}`)).statusCode, 404);
    assert.equal((await send(app, 'GET', `/api/articles/${q}`)).statusCode, 404);
    assert.equal((await send(app, 'DELETE', `/api/articles/${canary}/comments/${q}`, { user: reader })).statusCode, 422);

    for (const [where, probe] of probes) {
      for (const p of PAYLOADS) sameJson(await probe(p), await probe(ordinary(p)), `${where}${p}`);
    }

    // The real things are still found the ordinary way.
    const listed = (await send(app, 'GET', '/api/articles?tag=canary')).json();
    assert.equal(listed.articlesCount, 1);
    assert.deepEqual(
      (await send(app, 'GET', `/api/articles/${canary}/comments`)).json().comments.map((c: { id: number }) => c.id),
      [commentId],
    );
    await assertIntact(runtime, before, canary);
    assertNoErrorLogs(logs());
  });

  test(`[${backend}] SQL injection in every JSON field is stored and returned literally, or refused like any invalid value`, async (t) => {
    const { app, runtime, logs } = await startTestApp(t, backend);
    const author = await makeUser(app, runtime, 'canary_author');
    const canary = await postArticle(app, author, {
      title: 'Canary article',
      description: 'Still standing',
      body: 'The canary sings.',
      tagList: ['canary'],
    });
    const before = await snapshot(runtime, canary);
    let registered = 0;

    const loginBaseline = await send(app, 'POST', '/api/users/login', {
      body: { user: { email: 'nobody@example.com', password: 'not the password at all' } },
    });
    assert.equal(loginBaseline.statusCode, 401);
    for (const p of PAYLOADS) {
      for (const email of [p, `${p}@example.com`, `canary_author@example.com${p}`]) {
        sameJson(
          await send(app, 'POST', '/api/users/login', { body: { user: { email, password: 'not the password at all' } } }),
          loginBaseline,
          `login email ${email}`,
        );
      }
    }

    // Registration: a payload is either refused as an invalid value (422, per field) or, where
    // the rules allow it, stored exactly and usable.
    let n = 0;
    for (const p of PAYLOADS) {
      for (const field of ['username', 'email', 'password'] as const) {
        n += 1;
        const user = {
          username: `sqli_${n}`,
          email: `sqli_${n}@example.com`,
          password: STRONG_PASSWORD,
          [field]: field === 'email' ? `${p.replace(/\s/g, '')}@example.com` : p,
        };
        const res = await send(app, 'POST', '/api/users', { body: { user } });
        harmless(res, `register ${field}=${p}`);
        if (res.statusCode === 201) {
          registered += 1;
          const stored = await runtime.db.kysely
            .selectFrom('users')
            .select(['username', 'email'])
            .where('username', '=', user.username)
            .executeTakeFirstOrThrow();
          assert.deepEqual(stored, { username: user.username, email: user.email.toLowerCase() }, `register ${field}=${p} stored literally`);
          const login = await send(app, 'POST', '/api/users/login', { body: { user: { email: user.email, password: user.password } } });
          assert.equal(login.statusCode, 200, `the account made with ${field}=${p} logs in with exactly what was sent`);
        } else {
          assert.equal(res.statusCode, 422, `register ${field}=${p}`);
          assert.deepEqual(
            Object.keys((res.json() as { errors: object }).errors),
            [field],
            `register ${field}=${p}: refused for that field only`,
          );
        }
      }
    }

    for (const [i, p] of PAYLOADS.entries()) {
      // One writer per payload: each payload's article, edit, comment and three profile saves stay
      // inside one account's write limits (SPEC §3), which are not what this test is about.
      const writer = await makeUser(app, runtime, `sqli_writer_${i}`);
      registered += 1;
      // Articles: every field, and the payload as a tag that the tag filter then finds.
      const created = await send(app, 'POST', '/api/articles', {
        user: writer,
        body: { article: { title: p, description: p, body: p, tagList: [p] } },
      });
      harmless(created, `article ${p}`);
      assert.equal(created.statusCode, 201, `article ${p}`);
      const slug = created.json().article.slug as string;
      const read = (await send(app, 'GET', `/api/articles/${enc(slug)}`)).json().article;
      assert.deepEqual([read.title, read.description, read.body, read.tagList], [p, p, p, [p.trim()]], `article ${p} stored literally`);
      const byTag = (await send(app, 'GET', `/api/articles?tag=${enc(p.trim())}`)).json();
      assert.deepEqual(
        byTag.articles.map((a: { slug: string }) => a.slug),
        [slug],
        `?tag=${p} finds exactly its article`,
      );

      const updated = await send(app, 'PUT', `/api/articles/${enc(slug)}`, { user: writer, body: { article: { title: `${p} (edited)` } } });
      harmless(updated, `edit ${p}`);
      assert.equal(updated.json().article.title, `${p} (edited)`);

      const comment = await send(app, 'POST', `/api/articles/${canary}/comments`, { user: writer, body: { comment: { body: p } } });
      harmless(comment, `comment ${p}`);
      assert.ok(comment.statusCode === 200 || comment.statusCode === 201, `comment ${p}: ${comment.statusCode}`);
      assert.equal(comment.json().comment.body, p);

      const bio = await send(app, 'PUT', '/api/user', { user: writer, body: { user: { bio: p } } });
      harmless(bio, `bio ${p}`);
      assert.equal(bio.json().user.bio, p);
      for (const field of ['username', 'email'] as const) {
        const res = await send(app, 'PUT', '/api/user', { user: writer, body: { user: { [field]: p } } });
        harmless(res, `update ${field}=${p}`);
        assert.equal(res.statusCode, 422, `update ${field}=${p} is refused as invalid`);
      }
    }
    const comments = (await send(app, 'GET', `/api/articles/${canary}/comments`)).json().comments.map((c: { body: string }) => c.body);
    assert.deepEqual([...comments].sort(), [...PAYLOADS].sort(), 'every payload comment is there, verbatim');
    await assertIntact(runtime, before, canary, registered);
    assertNoErrorLogs(logs());
  });

  test(`[${backend}] SQL injection through the HTML pages: search, tag, profile and article URLs, and the login, register, editor and comment forms`, async (t) => {
    const { app, runtime, logs } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const canary = await writeArticle(runtime, author.username, {
      title: 'Canary article',
      description: 'Still standing',
      body: 'The canary sings.',
      tagList: ['canary'],
    });
    const before = await snapshot(runtime, canary);
    const db = conduitDb(runtime.db);
    const get = (url: string) => app.inject({ method: 'GET', url, remoteAddress: nextAddress() });
    const mainOf = (html: string) => /<main[\s\S]*<\/main>/.exec(html)?.[0].replace(/<code>[0-9a-f-]+<\/code>/g, '') ?? '';

    for (const p of PAYLOADS) {
      const search = await get(`/search?q=${enc(p)}`);
      harmless(search, `search ${p}`);
      assert.equal(search.statusCode, 200);
      assert.deepEqual(titles(search.body), [], `search ${p} finds nothing`);
      assert.match(search.body, /<p class="result-count">0 articles match/, `search ${p}`);

      const tag = await get(`/?tag=${enc(p)}`);
      harmless(tag, `tag ${p}`);
      assert.equal(tag.statusCode, 200);
      assert.deepEqual(titles(tag.body), [], `?tag=${p} lists nothing`);
      assert.match(tag.body, /No articles are here/);

      for (const path of [(v: string) => `/?page=${enc(v)}`, (v: string) => `/profile/${enc(v)}`, (v: string) => `/article/${enc(v)}`]) {
        const [res, baseline] = [await get(path(p)), await get(path(ordinary(p)))];
        harmless(res, path(p));
        assert.ok([404, 422].includes(baseline.statusCode), `${path(ordinary(p))} is refused`);
        assert.equal(res.statusCode, baseline.statusCode, path(p));
        assert.equal(mainOf(res.body), mainOf(baseline.body), `${path(p)}: the same page as for an unknown value`);
      }
    }

    // Login: an injected email fails exactly like an unknown one (each try from its own client).
    const loginBaseline = await newBrowser(app).post(
      '/login',
      { email: 'nobody@example.com', password: 'not the password at all' },
      { from: '/login' },
    );
    assert.equal(loginBaseline.statusCode, 422);
    for (const p of PAYLOADS) {
      for (const email of [p, `${p}@example.com`]) {
        const res = await newBrowser(app).post('/login', { email, password: 'not the password at all' }, { from: '/login' });
        harmless(res, `login form email ${email}`);
        assert.equal(res.statusCode, 422, `login form email ${email}`);
        assert.equal(errorList(res.body), errorList(loginBaseline.body));
      }
    }

    // Register: refused per field, or stored exactly.
    let registered = 0;
    let n = 0;
    for (const p of PAYLOADS) {
      for (const field of ['username', 'email', 'password'] as const) {
        n += 1;
        const form = {
          username: `form_${n}`,
          email: `form_${n}@example.com`,
          password: STRONG_PASSWORD,
          [field]: field === 'email' ? `${p.replace(/\s/g, '')}@example.com` : p,
        };
        const res = await newBrowser(app).post('/register', form, { from: '/register' });
        harmless(res, `register form ${field}=${p}`);
        if (res.statusCode === 303) {
          registered += 1;
          await app.signUps.settled();
          const stored = await db
            .selectFrom('users')
            .select(['username', 'email'])
            .where('username', '=', form.username)
            .executeTakeFirstOrThrow();
          assert.deepEqual(
            stored,
            { username: form.username, email: form.email.toLowerCase() },
            `register form ${field}=${p} stored literally`,
          );
        } else {
          assert.equal(res.statusCode, 422, `register form ${field}=${p}`);
        }
      }
    }

    // Editor and comments, as a signed-in member: one per payload, inside the write limits.
    for (const [i, p] of PAYLOADS.entries()) {
      const account = await makeUser(app, runtime, `sqli_editor_${i}`);
      registered += 1;
      const member = await loggedInBrowser(app, { ...account, password: STRONG_PASSWORD });
      const fields = { title: `${p} title`, description: `${p} description`, body: p, tagList: p };
      const created = await member.post('/editor', fields, { from: '/editor' });
      harmless(created, `editor ${p}`);
      assert.equal(created.statusCode, 303, `editor ${p}`);
      const slug = decodeURIComponent(String(created.headers.location).replace(/^\/article\//, ''));
      const row = await db
        .selectFrom('articles')
        .select(['id', 'title', 'description', 'body'])
        .where('slug', '=', slug)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { title: row.title, description: row.description, body: row.body },
        { title: fields.title, description: fields.description, body: p },
        `editor ${p} stored literally`,
      );
      const tags = await db
        .selectFrom('article_tags')
        .innerJoin('tags', 'tags.id', 'article_tags.tag_id')
        .select('tags.name')
        .where('article_tags.article_id', '=', row.id)
        .execute();
      assert.deepEqual(tags.map((r) => r.name).sort(), [...new Set(p.split(/[\s,]+/).filter((x) => x !== ''))].sort(), `editor tags ${p}`);

      const edited = await member.post(`/editor/${enc(slug)}`, { ...fields, title: `${p} edited` }, { from: `/editor/${enc(slug)}` });
      harmless(edited, `edit ${p}`);
      assert.equal(edited.statusCode, 303);
      assert.equal(
        (await db.selectFrom('articles').select('title').where('id', '=', row.id).executeTakeFirstOrThrow()).title,
        `${p} edited`,
      );

      const comment = await member.post(`/article/${enc(canary)}/comments`, { body: `${p} said` }, { from: `/article/${enc(canary)}` });
      harmless(comment, `comment form ${p}`);
      assert.equal(comment.statusCode, 303);
    }
    const comments = await db.selectFrom('comments').select('body').orderBy('id').execute();
    assert.deepEqual(
      comments.map((c) => c.body),
      PAYLOADS.map((p) => `${p} said`),
      'every comment stored verbatim',
    );

    await assertIntact(runtime, before, canary, registered);
    assertNoErrorLogs(logs());
  });

  test(`[${backend}] search treats % _ and \\ as the characters they are: each finds only the articles that contain it`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    await writeArticle(runtime, author.username, { title: 'Save 100% today', body: 'plain words' });
    await writeArticle(runtime, author.username, { title: 'Naming', description: 'snake_case names', body: 'plain words' });
    await writeArticle(runtime, author.username, { title: 'Paths', description: 'plain', body: 'C:\\Windows\\System32' });
    await writeArticle(runtime, author.username, { title: 'Nothing special', description: 'plain', body: 'plain words' });
    const visitor = newBrowser(app);
    const found = async (q: string) => titles((await visitor.get(`/search?q=${enc(q)}`)).body);
    assert.deepEqual(await found('%'), ['Save 100% today']);
    assert.deepEqual(await found('_'), ['Naming']);
    assert.deepEqual(await found('\\'), ['Paths']);
    assert.deepEqual(await found('0%'), ['Save 100% today']);
    assert.deepEqual(await found('e_c'), ['Naming']);
    assert.deepEqual(await found('%%'), []);
    assert.deepEqual(await found('__'), []);
    assert.deepEqual(await found('s%e'), [], 'a % inside a word is not a wildcard');
    assert.deepEqual(await found('n_m'), [], 'an _ inside a word is not a wildcard');
    assert.deepEqual(await found('plain'), ['Nothing special', 'Paths', 'Naming', 'Save 100% today']);
  });
}
