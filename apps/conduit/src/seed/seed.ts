import type { Kysely, Transaction } from 'kysely';
import { type Db, type DemoMember, insertDemoMembers } from 'bastion';
import { conduitDb, type ConduitDatabase } from '../conduit/tables.js';
import { renderMarkdown } from '../content/markdown.js';
import { RENDERER } from '../content/renderer-version.js';
import * as content from './content.js';

// `bastion seed`: fills a database with demo data. Speed comes from batched multi-row inserts,
// one transaction per batch of articles; every body still goes through the one Markdown
// renderer, so seeded body_html is exactly what the app would have stored.

export interface SeedOptions {
  readonly users: number;
  readonly articles: number;
  /** Seed of the content generator; the same seed gives the same demo text. */
  readonly seed?: number;
  /** Called as work advances (the CLI draws its progress bar from this). */
  readonly onProgress?: (phase: SeedPhase, done: number, total: number) => void;
  /** Injectable clock: demo dates are spread over the year before it. */
  readonly now?: Date;
}

export type SeedPhase = 'users' | 'follows' | 'articles';

export interface SeedResult {
  readonly users: number;
  readonly articles: number;
  readonly comments: number;
  readonly favorites: number;
  readonly follows: number;
  readonly tags: number;
}

export const SEED_LIMITS = { users: 100_000, articles: 1_000_000 } as const;

// Keeps every statement well under SQLite's and PostgreSQL's bound-parameter limits.
const MAX_PARAMS = 4000;
const ARTICLE_BATCH = 250;
const YEAR_MS = 365 * 24 * 3600 * 1000;

function* chunks<T>(rows: readonly T[], columns: number): Generator<T[]> {
  const size = Math.max(1, Math.floor(MAX_PARAMS / columns));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

async function insertAll<T extends keyof ConduitDatabase>(
  db: Kysely<ConduitDatabase> | Transaction<ConduitDatabase>,
  table: T,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!).length;
  for (const batch of chunks(rows, columns)) {
    await db
      .insertInto(table)
      .values(batch as never)
      .execute();
  }
}

export function slugFor(title: string, random: content.Random): string {
  const base =
    title
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 100) || 'article';
  return `${base}-${Math.floor(random() * 0x1_0000_0000).toString(36)}`;
}

export async function seedDatabase(database: Db, options: SeedOptions): Promise<SeedResult> {
  const db = conduitDb(database);
  const random = content.seededRandom(options.seed ?? Date.now());
  const now = (options.now ?? new Date()).getTime();
  const progress = options.onProgress ?? (() => {});

  // Nobody can log in as a seed user unless an admin resets the password (insertDemoMembers).
  const userIds = await seedUsers(db, options.users, random, now, progress);
  const follows = await seedFollows(db, userIds, random, progress);
  const tagIds = await ensureTags(db);

  let articles = 0;
  let comments = 0;
  let favorites = 0;
  progress('articles', 0, options.articles);
  const usedSlugs = new Set<string>();
  while (articles < options.articles) {
    const count = Math.min(ARTICLE_BATCH, options.articles - articles);
    const done = await db.transaction().execute(async (trx) => {
      const planned = Array.from({ length: count }, (_, i) => {
        const title = content.title(random);
        let slug = slugFor(title, random);
        while (usedSlugs.has(slug)) slug = slugFor(title, random);
        usedSlugs.add(slug);
        const body = content.markdownBody(random);
        // Oldest first, so ids and dates agree; the newest article is a few minutes old.
        const created = now - YEAR_MS + ((articles + i + 1) / options.articles) * (YEAR_MS - 300_000);
        const at = new Date(created).toISOString();
        const fans = content.sample(random, userIds, content.between(random, 0, Math.min(8, userIds.length)));
        const tags = content.sample(random, tagIds, content.between(random, 1, 4));
        const notes = Array.from({ length: content.between(random, 0, 4) }, () => {
          const when = new Date(created + content.between(random, 60, 86_400) * 1000).toISOString();
          return { author_id: content.pick(random, userIds), body: content.commentBody(random), created_at: when, updated_at: when };
        });
        const row = {
          slug,
          title,
          description: content.description(random),
          body,
          body_html: renderMarkdown(body),
          rendered_with: RENDERER,
          author_id: content.pick(random, userIds),
          favorites_count: fans.length,
          created_at: at,
          updated_at: at,
        };
        return { row, fans, tags, notes };
      });
      const bySlug = new Map(planned.map((p) => [p.row.slug, p]));
      const favoriteRows: { user_id: number; article_id: number }[] = [];
      const tagRows: { article_id: number; tag_id: number }[] = [];
      const commentRows: { article_id: number; author_id: number; body: string; created_at: string; updated_at: string }[] = [];
      for (const batch of chunks(
        planned.map((p) => p.row),
        9,
      )) {
        for (const { id, slug } of await trx.insertInto('articles').values(batch).returning(['id', 'slug']).execute()) {
          const plan = bySlug.get(slug)!;
          for (const tag of plan.tags) tagRows.push({ article_id: id, tag_id: tag });
          for (const user of plan.fans) favoriteRows.push({ user_id: user, article_id: id });
          for (const note of plan.notes) commentRows.push({ article_id: id, ...note });
        }
      }
      await insertAll(trx, 'article_tags', tagRows);
      await insertAll(trx, 'favorites', favoriteRows);
      await insertAll(trx, 'comments', commentRows);
      return { comments: commentRows.length, favorites: favoriteRows.length };
    });
    articles += count;
    comments += done.comments;
    favorites += done.favorites;
    progress('articles', articles, options.articles);
  }
  return { users: userIds.length, articles, comments, favorites, follows, tags: tagIds.length };
}

async function seedUsers(
  db: Kysely<ConduitDatabase>,
  count: number,
  random: content.Random,
  now: number,
  progress: NonNullable<SeedOptions['onProgress']>,
): Promise<number[]> {
  // Names already in the database are skipped, so seeding twice adds users instead of failing.
  const taken = new Set((await db.selectFrom('users').select('username').execute()).map((u) => u.username.toLowerCase()));
  const members: DemoMember[] = [];
  for (let n = 1; members.length < count; n++) {
    const { first, last } = content.personName(random);
    const username = `${first}_${last}${n}`;
    if (taken.has(username)) continue;
    taken.add(username);
    const at = new Date(now - YEAR_MS - content.between(random, 0, 86_400) * 1000).toISOString();
    members.push({ username, email: `${username}@example.com`, bio: content.bio(random), createdAt: at });
  }
  progress('users', 0, count);
  return insertDemoMembers(db, members, { onProgress: (done) => progress('users', done, count) });
}

async function seedFollows(
  db: Kysely<ConduitDatabase>,
  userIds: readonly number[],
  random: content.Random,
  progress: NonNullable<SeedOptions['onProgress']>,
): Promise<number> {
  const rows: { follower_id: number; followee_id: number }[] = [];
  for (const follower of userIds) {
    // Sampling one extra and dropping oneself keeps this linear for 100,000 users.
    const picked = content.sample(random, userIds, content.between(random, 0, Math.min(10, userIds.length - 1)) + 1);
    for (const followee of picked.filter((u) => u !== follower).slice(0, picked.length - 1)) {
      rows.push({ follower_id: follower, followee_id: followee });
    }
  }
  progress('follows', 0, rows.length);
  await db.transaction().execute((trx) => insertAll(trx, 'follows', rows));
  progress('follows', rows.length, rows.length);
  return rows.length;
}

async function ensureTags(db: Kysely<ConduitDatabase>): Promise<number[]> {
  const existing = await db.selectFrom('tags').select(['id', 'name']).where('name', 'in', content.TAGS).execute();
  const have = new Set(existing.map((t) => t.name));
  const missing = content.TAGS.filter((t) => !have.has(t)).map((name) => ({ name }));
  const added = missing.length > 0 ? await db.insertInto('tags').values(missing).returning('id').execute() : [];
  return [...existing.map((t) => t.id), ...added.map((t) => t.id)];
}
