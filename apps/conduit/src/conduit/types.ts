import type { Kysely } from 'kysely';
import { MAX_OFFSET } from 'bastion';
import type { ConduitDatabase } from './tables.js';

// The shapes the Conduit services return. Both faces use them: the JSON API maps them to the
// RealWorld shapes, the HTML pages hand them to templates. Times are ISO-8601 strings.

/** What Conduit's services query: the stack's tables and Conduit's (conduitDb in ./tables.ts), or a transaction over them. */
export type ConduitDb = Kysely<ConduitDatabase>;

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
  /** Sanitized when written (apps/conduit/src/content/markdown.ts); safe to emit raw in a template. */
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

export { MAX_OFFSET } from 'bastion';

const within = (value: number | undefined, fallback: number, min: number, max: number): number =>
  value !== undefined && Number.isFinite(value) ? Math.min(Math.max(Math.trunc(value), min), max) : fallback;

/** Clamps a page request to what the services accept (limit 1–100, offset 0–MAX_OFFSET). */
export function clampPage(page: Partial<PageRequest>): PageRequest {
  return { limit: within(page.limit, 20, 1, 100), offset: within(page.offset, 0, 0, MAX_OFFSET) };
}
