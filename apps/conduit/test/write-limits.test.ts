import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { buildApp } from '../src/app.js';
import { CONDUIT_WRITE_LIMITS } from '../src/conduit/write-limits.js';
import { BACKENDS, registeredBrowser, writeRules } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { userId, writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// Bastion's profile limit and Conduit's, as Conduit registers them.
const { profile, article, comment } = writeRules(CONDUIT_WRITE_LIMITS);
const RULES = { profile: profile!, article: article!, comment: comment! };

// SPEC §3 "content writes": per account, articles 10 a minute, comments 30 a minute, profile
// and email changes 10 an hour. The attack of issue 16: one token posting 40 comments, 15
// articles and 12 profile changes in one burst. Counted before the write, so a burst sent all
// at once gets no more through than one sent in turn; shared by both faces and, on
// PostgreSQL + Redis, by every instance.

const statuses = (list: readonly { statusCode: number }[]): Record<number, number> => {
  const counts: Record<number, number> = {};
  for (const r of list) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
  return counts;
};

async function limitAudits(db: Parameters<typeof userId>[0]['db']['kysely'], limit: string): Promise<{ actor_id: number | null }[]> {
  const rows = await db.selectFrom('audit_log').select(['actor_id', 'details']).where('event', '=', 'ratelimit.hit').execute();
  return rows.filter((r) => (JSON.parse(r.details) as { limit?: string }).limit === limit);
}

for (const backend of BACKENDS) {
  test(`[${backend}] a burst of 40 comments from one token stores 30; the rest get 429 with Retry-After in RealWorld's shape, audited once`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await makeUser(app, runtime, 'writer');
    const spammer = await makeUser(app, runtime, 'spammer');
    const other = await makeUser(app, runtime, 'bystander');
    const slug = await postArticle(app, author, { title: 'A quiet article' });

    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        api(app, 'POST', `/api/articles/${slug}/comments`, { user: spammer, body: { comment: { body: `spam ${i}` } } }),
      ),
    );
    assert.deepEqual(statuses(burst), { 200: RULES.comment.points, 429: 40 - RULES.comment.points });
    const refused = burst.find((r) => r.statusCode === 429)!;
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After within the minute: ${refused.headers['retry-after']}`,
    );
    assert.ok(Array.isArray(refused.json().errors.body), 'the RealWorld error shape');

    const stored = await conduitDb(runtime.db).selectFrom('comments').select('id').where('author_id', '=', spammer.id).execute();
    assert.equal(stored.length, RULES.comment.points);
    // Per account: another member on the same article is not held back.
    assert.equal(
      (await api(app, 'POST', `/api/articles/${slug}/comments`, { user: other, body: { comment: { body: 'hello' } } })).statusCode,
      200,
    );
    // Ten refusals, one audit row, naming the member.
    const audits = await limitAudits(runtime.db.kysely, RULES.comment.name);
    assert.equal(audits.length, 1);
    assert.equal(audits[0]!.actor_id, spammer.id);
  });

  test(`[${backend}] articles: 10 a minute per account, new and edited alike, on both faces`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const id = await userId(runtime, browser.username);
    const token = await app.apiTokens.issue(id, 'test');
    const user = { id, username: browser.username, email: browser.email, token, headers: { authorization: `Token ${token}` } };

    const created = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        api(app, 'POST', '/api/articles', { user, body: { article: { title: `Burst ${i}`, description: 'd', body: 'b' } } }),
      ),
    );
    assert.deepEqual(statuses(created), { 201: 9 });
    const slug = created[0]!.json().article.slug as string;
    // The tenth write is an edit: it counts like a new article (it re-renders the body).
    assert.equal((await api(app, 'PUT', `/api/articles/${slug}`, { user, body: { article: { body: 'edited' } } })).statusCode, 200);
    const overApi = await api(app, 'POST', '/api/articles', {
      user,
      body: { article: { title: 'One too many', description: 'd', body: 'b' } },
    });
    assert.equal(overApi.statusCode, 429);
    assert.ok(Number(overApi.headers['retry-after']) >= 1);
    assert.equal((await api(app, 'PUT', `/api/articles/${slug}`, { user, body: { article: { body: 'again' } } })).statusCode, 429);

    // The same account on the HTML face shares the count: the form comes back with what was typed.
    const form = await browser.post(
      '/editor',
      { title: 'From the form', description: 'typed with care', body: 'My *draft*', tagList: '' },
      { from: '/editor' },
    );
    assert.equal(form.statusCode, 429);
    assert.ok(Number(form.headers['retry-after']) >= 1);
    assert.match(form.body, /too quickly/);
    assert.match(form.body, /typed with care/, 'the draft is kept');
    const edit = await browser.post(
      `/editor/${slug}`,
      { title: 'Burst 0', description: 'd', body: 'changed in the form', tagList: '' },
      { from: `/editor/${slug}` },
    );
    assert.equal(edit.statusCode, 429);

    const rows = await conduitDb(runtime.db).selectFrom('articles').select(['slug', 'body']).where('author_id', '=', id).execute();
    assert.equal(rows.length, 9);
    assert.equal(rows.find((r) => r.slug === slug)!.body, 'edited');
  });

  test(`[${backend}] comments from the article page: the 31st in a minute shows the page again with the draft and 429`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    const reader = await registeredBrowser(app);
    const slug = await writeArticle(runtime, author.username);
    const from = `/article/${slug}`;
    const token = await reader.csrf(from);
    for (let i = 0; i < RULES.comment.points; i++) {
      const res = await reader.post(`/article/${slug}/comments`, { body: `note ${i}`, _csrf: token }, { csrf: false });
      assert.equal(res.statusCode, 303, `comment ${i}`);
    }
    const over = await reader.post(`/article/${slug}/comments`, { body: 'one more <thought>' }, { from });
    assert.equal(over.statusCode, 429);
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.match(over.body, /commenting too quickly/);
    assert.match(over.body, /one more &lt;thought&gt;/, 'the draft is kept, escaped');
    const count = await conduitDb(runtime.db)
      .selectFrom('comments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), RULES.comment.points);
  });

  test(`[${backend}] profile changes: 10 an hour per account, PUT /api/user and the settings form together`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const browser = await registeredBrowser(app);
    const id = await userId(runtime, browser.username);
    const token = await app.apiTokens.issue(id, 'test');
    const user = { id, username: browser.username, email: browser.email, token, headers: { authorization: `Token ${token}` } };

    // A RealWorld client sends email and username with every save.
    const saves = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api(app, 'PUT', '/api/user', { user, body: { user: { email: browser.email, username: browser.username, bio: `bio ${i}` } } }),
      ),
    );
    assert.deepEqual(statuses(saves), { 200: RULES.profile.points, 429: 12 - RULES.profile.points });
    const refused = saves.find((r) => r.statusCode === 429)!;
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter > 60 && retryAfter <= 3600, `an hour's window: ${retryAfter}`);

    const form = await browser.post(
      '/settings',
      { username: browser.username, email: browser.email, bio: 'from the form', image: '' },
      { from: '/settings' },
    );
    assert.equal(form.statusCode, 429);
    const row = await runtime.db.kysely.selectFrom('users').select('bio').where('id', '=', id).executeTakeFirstOrThrow();
    assert.match(row.bio, /^bio \d+$/, 'the refused saves changed nothing');
    assert.equal((await limitAudits(runtime.db.kysely, RULES.profile.name)).length, 1);
  });
}

test(
  '[postgres] the write limits are shared by every instance (Redis), not counted per process',
  { skip: !BACKENDS.includes('postgres') && 'postgres excluded' },
  async (t) => {
    const { app, runtime } = await startTestApp(t, 'postgres');
    // A second instance: its own Fastify, its own memory, the same PostgreSQL schema and Redis prefix.
    const second = await buildApp(runtime, { logStream: new Writable({ write: (_c, _e, cb) => cb() }) });
    t.after(() => second.close());
    const author = await makeUser(app, runtime, 'writer');
    const slug = await postArticle(app, author, { title: 'Shared' });
    const spammer = await makeUser(app, runtime, 'spammer');
    const comment = (instance: typeof app, i: number) =>
      api(instance, 'POST', `/api/articles/${slug}/comments`, { user: spammer, body: { comment: { body: `c${i}` } } });
    const half = RULES.comment.points / 2;
    const first = await Promise.all(Array.from({ length: half }, (_, i) => comment(app, i)));
    const other = await Promise.all(Array.from({ length: half }, (_, i) => comment(second, i)));
    assert.deepEqual(statuses([...first, ...other]), { 200: RULES.comment.points });
    assert.equal((await comment(second, 99)).statusCode, 429);
    assert.equal((await comment(app, 100)).statusCode, 429);
  },
);

test(
  'seeding and other direct service calls are not limited: the limit belongs to the HTTP faces',
  { skip: !BACKENDS.includes('sqlite') && 'sqlite excluded' },
  async (t) => {
    const { app, runtime } = await startTestApp(t, 'sqlite');
    const author = await makeUser(app, runtime, 'prolific');
    for (let i = 0; i < RULES.article.points + 5; i++) await writeArticle(runtime, author.username, { title: `Direct ${i}` });
    // The HTTP face still has its whole minute's allowance: the service calls were not counted.
    const res = await Promise.all(
      Array.from({ length: RULES.article.points }, (_, i) =>
        api(app, 'POST', '/api/articles', { user: author, body: { article: { title: `Http ${i}`, description: 'd', body: 'b' } } }),
      ),
    );
    assert.deepEqual(statuses(res), { 201: RULES.article.points });
  },
);
