// Page numbers for list pages: ten items a page, links that keep the list's other query
// parameters, and a short window of numbers around the current page instead of hundreds.

export const PAGE_SIZE = 10;
const WINDOW = 2;

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

export const pageRequest = (page: number): { limit: number; offset: number } => ({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });

/** `params` are the list's other query parameters (empty values are left out of the links). */
export function paginate(path: string, page: number, total: number, params: Record<string, string | undefined> = {}): Pagination {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const href = (n: number): string => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, value);
    if (n > 1) query.set('page', String(n));
    const text = query.toString();
    return text === '' ? path : `${path}?${text}`;
  };
  const wanted = new Set([1, pages]);
  for (let n = page - WINDOW; n <= page + WINDOW; n++) if (n >= 1 && n <= pages) wanted.add(n);
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
