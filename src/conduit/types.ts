import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

// The shapes the Conduit services return. Both faces use them: the JSON API maps them to the
// RealWorld shapes, the HTML pages hand them to templates. Times are ISO-8601 strings.

export type ConduitDb = Kysely<Database>;

/** The id of the user looking, or null for an anonymous visitor (affects following/favorited). */
export type ViewerId = number | null;

export interface Profile {
  readonly id: number;
  readonly username: string;
  readonly bio: string;
  readonly image: string | null;
  /** Whether the viewer follows this user; always false for anonymous viewers. */
  readonly following: boolean;
}

/** An article as listed (no body, to keep list pages light). */
export interface ArticleSummary {
  readonly id: number;
  readonly slug: string;
  readonly title: string;
  readonly description: string;
  /** Tag names, sorted alphabetically. */
  readonly tagList: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly favorited: boolean;
  readonly favoritesCount: number;
  readonly author: Profile;
}

/** A whole article: the Markdown source and its stored, already sanitized HTML. */
export interface ArticleView extends ArticleSummary {
  readonly body: string;
  /** Sanitized when written (src/content/markdown.ts); safe to emit raw in a template. */
  readonly bodyHtml: string;
}

export interface CommentView {
  readonly id: number;
  readonly body: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly author: Profile;
}

export interface Page<T> {
  readonly items: T[];
  /** How many match in total, ignoring limit and offset. */
  readonly total: number;
}

export interface PageRequest {
  /** 1–100; callers validate. */
  readonly limit: number;
  readonly offset: number;
}

/** Clamps a page request to what the services accept (limit 1–100, offset ≥ 0). */
export function clampPage(page: Partial<PageRequest>): PageRequest {
  const limit = Math.min(Math.max(Math.trunc(page.limit ?? 20), 1), 100);
  const offset = Math.max(Math.trunc(page.offset ?? 0), 0);
  return { limit, offset };
}
