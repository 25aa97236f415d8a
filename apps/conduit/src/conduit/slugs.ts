import { randomBytes } from 'node:crypto';
import type { ConduitDb } from './types.js';

// Slugs are made from the title when an article is created and then never change (a title
// edit keeps the slug, so shared links keep working). A taken slug gets a random suffix.

export const SLUG_MAX = 120;

/** "How to Train Your Dragon!" → "how-to-train-your-dragon"; never empty. */
export function slugify(title: string): string {
  const base = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    // Runs are single dashes by now: trimming one at each end is trimming them all.
    .replace(/^-|-$/g, '')
    .slice(0, 100)
    .replace(/-$/, '');
  return base === '' ? 'article' : base;
}

const suffix = (): string => randomBytes(4).toString('hex');

/** A slug for `title` that no article has yet (the unique index settles any race). */
export async function uniqueSlug(db: ConduitDb, title: string): Promise<string> {
  const base = slugify(title);
  const taken = await db.selectFrom('articles').select('id').where('slug', '=', base).executeTakeFirst();
  return taken ? `${base}-${suffix()}` : base;
}

/** A fresh candidate after a unique-index collision. */
export const retrySlug = (title: string): string => `${slugify(title)}-${suffix()}`;
