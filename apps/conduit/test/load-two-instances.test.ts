import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BACKENDS } from 'bastion/testing';
import { startCluster } from './helpers/cluster.js';
import type { Instance } from './helpers/server-process.js';

// Two instances under a minute of mixed traffic, as a load balancer would spread it: readers
// and writers through the JSON API and the HTML pages, a bounded number in flight, alternating
// instances. Afterwards every write that was acknowledged is read back (nothing lost, nothing
// extra), not one answer was a 5xx (or any status the request should not get), and each
// instance's memory levelled off instead of climbing with the traffic. Loopback only.

const SKIP = BACKENDS.includes('postgres')
  ? false
  : 'BASTION_TEST_BACKENDS excludes postgres: two instances need a shared PostgreSQL and Redis';

const LOAD_MS = 60_000;
const IN_FLIGHT = 24;
const USERS = 12;
const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const SAMPLE_MS = 1_000;
const REQUEST_TIMEOUT_MS = 30_000;
const PROBE = fileURLToPath(new URL('./helpers/memory-probe.mjs', import.meta.url));
const MiB = 2 ** 20;

interface User {
  readonly username: string;
  readonly token: string;
}
interface ArticleWrite {
  readonly slug: string;
  readonly title: string;
  readonly body: string;
  readonly tagList: string[];
  readonly author: string;
  /** The instance that acknowledged it; the read-back asks the other one. */
  readonly via: number;
}
interface Answer {
  readonly status: number;
  readonly body: unknown;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

// The balancer believes 1024 client addresses, so the per-address limit (300 a minute) is never
// the answer: at several hundred requests a second each address stays well under it.
let requestNo = 0;
const clientAddress = (): string => {
  requestNo += 1;
  return `10.42.${(requestNo >> 8) & 3}.${requestNo & 255}`;
};

/** Everything that was not the status the request should get, and every transport failure. */
class Ledger {
  readonly statuses = new Map<number, number>();
  readonly unexpected: string[] = [];
  requests = 0;
  record(what: string, status: number, expected: readonly number[], body: unknown): void {
    this.requests += 1;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (!expected.includes(status) && this.unexpected.length < 50)
      this.unexpected.push(`${what} → ${status} ${JSON.stringify(body).slice(0, 200)}`);
  }
  count(test: (status: number) => boolean): number {
    return [...this.statuses].filter(([s]) => test(s)).reduce((n, [, c]) => n + c, 0);
  }
}

async function call(
  ledger: Ledger,
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; expect?: readonly number[] } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-for': clientAddress() };
  if (options.token) headers.authorization = `Token ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const what = `${method} ${base}${path}`;
  try {
    const res = await fetch(base + path, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as unknown) : text.length;
    ledger.record(what, res.status, options.expect ?? [200], json);
    return { status: res.status, body: json };
  } catch (err) {
    // A reset, a refused connection or a timeout is a failure like a 5xx: recorded as status 0.
    ledger.record(what, 0, [], String(err));
    return { status: 0, body: null };
  }
}

/** Resident set size of a process in bytes, from /proc (Linux). */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) * 1024;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Sample {
  readonly at: number;
  readonly bytes: number;
}

/** The medians of a series over the first, middle and last third of [from, to). */
function thirds(series: readonly Sample[], from: number, to: number): [number, number, number] {
  const span = (to - from) / 3;
  return [0, 1, 2].map((k) => {
    const part = series.filter((s) => s.at >= from + k * span && s.at < from + (k + 1) * span).map((s) => s.bytes);
    assert.ok(part.length >= 3, `at least three memory samples in third ${k + 1} (got ${part.length})`);
    return median(part);
  }) as [number, number, number];
}

/** The live heap after each full collection, as the memory probe printed it. */
const heapAfterGc = (logs: string): Sample[] =>
  logs
    .split('\n')
    .filter((line) => line.startsWith('bastion-test-memory '))
    .map((line) => JSON.parse(line.slice('bastion-test-memory '.length)) as { at: number; heapUsed: number })
    .map((p) => ({ at: p.at, bytes: p.heapUsed }));

const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/** Runs `work` on every item with at most `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

test(
  'load: a minute of mixed reads and writes over two instances loses no write, answers no 5xx, and memory levels off',
  { skip: SKIP, timeout: 240_000 },
  async (t) => {
    const cluster = await startCluster(t, 2, { LOG_LEVEL: 'warn', NODE_OPTIONS: `--import ${PROBE}` });
    const instances = cluster.instances as [Instance, Instance];
    const bases = instances.map((i) => i.url);
    const ledger = new Ledger();
    let turn = 0;
    const nextBase = (): string => bases[turn++ % bases.length]!;

    // Accounts, once, through the API.
    const users: User[] = [];
    await eachLimited(
      Array.from({ length: USERS }, (_, i) => i),
      4,
      async (i) => {
        const username = `load${i}${randomBytes(3).toString('hex')}`;
        const res = await call(ledger, nextBase(), 'POST', '/api/users', {
          body: { user: { username, email: `${username}@example.com`, password: `load test ${randomBytes(8).toString('hex')} pw` } },
          expect: [201],
        });
        assert.equal(res.status, 201, `registration ${JSON.stringify(res.body)}`);
        users.push({ username, token: (res.body as { user: { token: string } }).user.token });
      },
    );

    // Every acknowledged write, for the read-back.
    const articles: ArticleWrite[] = [];
    const comments = new Map<string, Map<number, string>>(); // slug → id → body
    const favoriters = new Map<string, Set<string>>(); // slug → usernames

    const writeArticle = async (base: string) => {
      const user = pick(users);
      const n = articles.length;
      const title = `Load ${n} ${randomBytes(4).toString('hex')}`;
      const body = `Body of **${title}**, written through ${base}.`;
      const tagList = [...new Set([pick(TAGS), pick(TAGS)])].sort();
      // 429: the account is past its write limit (10 articles a minute, SPEC §3), a refusal the
      // client is told of, not a lost write; only acknowledged writes are read back.
      const res = await call(ledger, base, 'POST', '/api/articles', {
        token: user.token,
        body: { article: { title, description: `about ${title}`, body, tagList } },
        expect: [201, 429],
      });
      if (res.status === 201)
        articles.push({
          slug: (res.body as { article: { slug: string } }).article.slug,
          title,
          body,
          tagList,
          author: user.username,
          via: bases.indexOf(base),
        });
    };
    const writeComment = async (base: string) => {
      if (articles.length === 0) return writeArticle(base);
      const article = pick(articles);
      const text = `comment ${randomBytes(6).toString('hex')}`;
      const res = await call(ledger, base, 'POST', `/api/articles/${article.slug}/comments`, {
        token: pick(users).token,
        body: { comment: { body: text } },
        expect: [200, 429],
      });
      if (res.status === 200) {
        const id = (res.body as { comment: { id: number } }).comment.id;
        if (!comments.has(article.slug)) comments.set(article.slug, new Map());
        comments.get(article.slug)!.set(id, text);
      }
    };
    const writeFavorite = async (base: string) => {
      if (articles.length === 0) return writeArticle(base);
      const article = pick(articles);
      const user = pick(users);
      const res = await call(ledger, base, 'POST', `/api/articles/${article.slug}/favorite`, { token: user.token });
      if (res.status === 200) {
        if (!favoriters.has(article.slug)) favoriters.set(article.slug, new Set());
        favoriters.get(article.slug)!.add(user.username);
      }
    };
    const slugToRead = (): string | null => (articles.length === 0 ? null : pick(articles).slug);
    const reads: Array<(base: string) => Promise<unknown>> = [
      (base) => call(ledger, base, 'GET', `/api/articles?limit=20&offset=${Math.floor(Math.random() * 60)}`),
      (base) => call(ledger, base, 'GET', `/api/articles?tag=${pick(TAGS)}&limit=10`),
      (base) => call(ledger, base, 'GET', `/api/articles?favorited=${pick(users).username}&limit=10`),
      (base) => call(ledger, base, 'GET', '/api/articles/feed?limit=10', { token: pick(users).token }),
      (base) => call(ledger, base, 'GET', '/api/tags'),
      (base) => call(ledger, base, 'GET', `/api/profiles/${pick(users).username}`),
      (base) => {
        const slug = slugToRead();
        return slug ? call(ledger, base, 'GET', `/api/articles/${slug}`) : call(ledger, base, 'GET', '/api/tags');
      },
      (base) => {
        const slug = slugToRead();
        return slug ? call(ledger, base, 'GET', `/api/articles/${slug}/comments`) : call(ledger, base, 'GET', '/api/tags');
      },
      (base) => call(ledger, base, 'GET', `/?page=${1 + Math.floor(Math.random() * 3)}`),
      (base) => {
        const slug = slugToRead();
        return slug ? call(ledger, base, 'GET', `/article/${slug}`) : call(ledger, base, 'GET', '/');
      },
    ];
    // Roughly one request in three writes.
    const operation = (): ((base: string) => Promise<unknown>) => {
      const r = Math.random();
      if (r < 0.12) return writeArticle;
      if (r < 0.24) return writeComment;
      if (r < 0.33) return writeFavorite;
      return pick(reads);
    };

    // Memory: each instance's RSS once a second while the load runs (and the probe's heap figures).
    const rss: Sample[][] = instances.map(() => []);
    const sampler = setInterval(
      () => instances.forEach((instance, i) => rss[i]!.push({ at: Date.now(), bytes: rssOf(instance.child.pid!) })),
      SAMPLE_MS,
    );
    t.after(() => clearInterval(sampler));

    const started = Date.now();
    const deadline = started + LOAD_MS;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (Date.now() < deadline) await operation()(nextBase());
      }),
    );
    clearInterval(sampler);
    const loadRequests = ledger.requests;
    t.diagnostic(
      `load: ${loadRequests} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries(ledger.statuses))}`,
    );
    t.diagnostic(
      `writes acknowledged: ${articles.length} articles, ${[...comments.values()].reduce((n, m) => n + m.size, 0)} comments, ${[...favoriters.values()].reduce((n, s) => n + s.size, 0)} favorites`,
    );

    // Read-back: every acknowledged write. Each article is read from the instance that did not
    // acknowledge it, its comments (written through both) from either.
    const bodyOf = <T>(a: Answer): T => a.body as T;
    const missing: string[] = [];
    await eachLimited(articles, 16, async (written, i) => {
      const base = bases[(written.via + 1) % bases.length]!;
      const got = await call(ledger, base, 'GET', `/api/articles/${written.slug}`);
      if (got.status !== 200) return void missing.push(`article ${written.slug}: ${got.status}`);
      const a = bodyOf<{
        article: { title: string; body: string; tagList: string[]; author: { username: string }; favoritesCount: number };
      }>(got).article;
      const fans = favoriters.get(written.slug)?.size ?? 0;
      if (
        a.title !== written.title ||
        a.body !== written.body ||
        a.author.username !== written.author ||
        JSON.stringify(a.tagList) !== JSON.stringify(written.tagList)
      ) {
        missing.push(`article ${written.slug} differs: ${JSON.stringify(a).slice(0, 200)}`);
      }
      // Favorites are never removed here, so the count is exactly the users who favorited it.
      if (a.favoritesCount !== fans) missing.push(`article ${written.slug}: favoritesCount ${a.favoritesCount}, acknowledged ${fans}`);
      const mine = comments.get(written.slug);
      if (mine) {
        const listed = await call(ledger, bases[i % bases.length]!, 'GET', `/api/articles/${written.slug}/comments`);
        if (listed.status !== 200) return void missing.push(`comments of ${written.slug}: ${listed.status}`);
        const stored = new Map(bodyOf<{ comments: Array<{ id: number; body: string }> }>(listed).comments.map((c) => [c.id, c.body]));
        for (const [id, text] of mine) if (stored.get(id) !== text) missing.push(`comment ${id} on ${written.slug}`);
        if (stored.size !== mine.size) missing.push(`${written.slug}: ${stored.size} comments stored, ${mine.size} acknowledged`);
      }
    });
    const total = await call(ledger, bases[0]!, 'GET', '/api/articles?limit=1');
    assert.equal(bodyOf<{ articlesCount: number }>(total).articlesCount, articles.length, 'as many articles stored as acknowledged');
    assert.deepEqual(missing, [], 'every acknowledged write reads back as written');
    assert.ok(articles.length > 0 && comments.size > 0 && favoriters.size > 0, 'the run wrote something of each kind');

    // Not one 5xx or transport failure, and no answer the request should not have got.
    assert.equal(
      ledger.count((s) => s >= 500 || s === 0),
      0,
      ledger.unexpected.join('\n'),
    );
    assert.deepEqual(ledger.unexpected, []);

    // Memory that stops growing. Each series is cut into thirds of the load and each third summed
    // up by its median (a single GC spike or burst moves no median). The first third is warm-up
    // (JIT, pools, caches filling); after it, the growth over the last third must be at most half
    // the growth over the middle one (growth that slows towards a plateau), or under a small
    // absolute floor (already level; the floor absorbs measurement noise). A leak grows with the
    // traffic, which is the same in every third, so it grows as much in the last third as in the
    // middle one and fails.
    //  - The live JS heap after a full collection (the probe): what the process really keeps.
    //    Level to a few hundred KiB once warm (at most 0.5 MiB seen on this busy machine); floor
    //    2 MiB: with a thousand or more requests per instance and third, anything that keeps a few
    //    KiB per request fails.
    //  - RSS from /proc: all memory, native included (drivers, argon2, sockets), but noisier, as
    //    allocators keep freed pages; floor 32 MiB. A clean-clone CI run on Node 24 saw RSS step
    //    once by ~23 MiB in the last third while the live heap stayed level (64.0 → 64.7 → 64.9
    //    MiB; RSS 254 → 257 → 280 MiB): a step, not a slope, of unestablished cause (the size of
    //    one more worker thread, docs/runtime.md, or of allocator arenas). A native leak still
    //    fails it from ~17 KiB a request (~1,900 requests per instance and third); the heap's
    //    2 MiB floor is the fine check.
    const levelsOff = ([first, middle, last]: [number, number, number], floor: number): boolean =>
      last - middle <= Math.max(floor, (middle - first) / 2);
    for (const [i, instance] of instances.entries()) {
      const [heap1, heap2, heap3] = thirds(heapAfterGc(instance.logs()), started, deadline);
      const [rss1, rss2, rss3] = thirds(rss[i]!, started, deadline);
      t.diagnostic(
        `instance ${i}: heap after GC ${mib(heap1)} → ${mib(heap2)} → ${mib(heap3)} MiB; RSS ${mib(rss1)} → ${mib(rss2)} → ${mib(rss3)} MiB`,
      );
      assert.ok(
        levelsOff([heap1, heap2, heap3], 2 * MiB),
        `instance ${i}: the live heap kept growing (${mib(heap1)} → ${mib(heap2)} → ${mib(heap3)} MiB)`,
      );
      assert.ok(
        levelsOff([rss1, rss2, rss3], 32 * MiB),
        `instance ${i}: RSS kept growing (${mib(rss1)} → ${mib(rss2)} → ${mib(rss3)} MiB)`,
      );
      assert.equal(instance.child.exitCode, null, `instance ${i} still running:\n${instance.logs()}`);
    }
  },
);
