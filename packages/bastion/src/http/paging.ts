import { queryInteger } from './query-integer.js';

/**
 * The deepest offset any list reads (the API's `offset`, the pages' `?page=`): a database skips
 * offset rows one by one, and an offset of 1,000,000 scanned ~100 ms on a big table. Deeper is
 * refused by the schemas (SPEC §3 "query strings"); narrow the list with a filter instead.
 */
export const MAX_OFFSET = 10_000;

// Page numbers for list pages: ten items a page, links that keep the list's other query
// parameters, and a short window of numbers around the current page instead of hundreds.

export const PAGE_SIZE = 10;
/** The deepest page any list shows (its offset within MAX_OFFSET); pageField refuses beyond. */
export const MAX_PAGE = Math.floor(MAX_OFFSET / PAGE_SIZE);
const WINDOW = 2;

// The schemas let only whole pages 1..MAX_PAGE through; this keeps the pager's loop and the
// offset bounded even if a caller passes something else (Infinity once ran the loop forever).
const pageWithin = (page: number): number => (Number.isSafeInteger(page) ? Math.min(Math.max(page, 1), MAX_PAGE) : 1);

export interface PageLink {
  readonly number: number;
  readonly href: string;
  readonly current: boolean;
}

export interface Pagination {
  readonly page: number;
  readonly pages: number;
  readonly previous: string | null;
  readonly next: string | null;
  /** Page links; null entries mark a gap ("…"). */
  readonly links: readonly (PageLink | null)[];
}

export const pageRequest = (page: number): { limit: number; offset: number } => ({
  limit: PAGE_SIZE,
  offset: (pageWithin(page) - 1) * PAGE_SIZE,
});

/** `params` are the list's other query parameters (empty values are left out of the links). */
export function paginate(path: string, requested: number, total: number, params: Record<string, string | undefined> = {}): Pagination {
  const page = pageWithin(requested);
  // Links past MAX_PAGE would only be refused.
  const pages = Math.min(Math.max(1, Math.ceil(total / PAGE_SIZE)), MAX_PAGE);
  const href = (n: number): string => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, value);
    if (n > 1) query.set('page', String(n));
    const text = query.toString();
    return text === '' ? path : `${path}?${text}`;
  };
  const wanted = new Set([1, pages]);
  for (let step = -WINDOW; step <= WINDOW; step++) if (page + step >= 1 && page + step <= pages) wanted.add(page + step);
  const links: (PageLink | null)[] = [];
  let last = 0;
  for (const n of [...wanted].sort((a, b) => a - b)) {
    if (n - last > 1) links.push(null);
    links.push({ number: n, href: href(n), current: n === page });
    last = n;
  }
  return {
    page,
    pages,
    previous: page > 1 ? href(Math.min(page - 1, pages)) : null,
    next: page < pages ? href(page + 1) : null,
    links: pages > 1 ? links : [],
  };
}

/** `?page=`: 1 to MAX_PAGE (deeper offsets are refused, see MAX_OFFSET). */
export const pageField = queryInteger({ minimum: 1, maximum: MAX_PAGE, default: 1 });
