import { createRequire } from 'node:module';

// Which renderer produced a stored body_html (articles.rendered_with, migration 008). HTML is
// rendered once, when an article is written, and stored; upgrading markdown-it or sanitize-html,
// or changing the options in apps/conduit/src/content/markdown.ts, leaves the rows written before rendered by
// the old one. Each row records the renderer that wrote it, so `bastion rerender` redoes only the
// rows of another renderer and the server can say at start that some are left.
//
// The renderer is named by the two libraries' installed versions and RENDER_RULES. A patch
// release is counted as a new renderer too: a sanitizer's patch releases are where its security
// fixes come. Read here from their package.json files, without loading the libraries, so the
// main thread (whose writes render on the renderer threads) can name the renderer they run.

/** Raise by one whenever apps/conduit/src/content/markdown.ts changes what it outputs (options, allowlist, transforms). */
export const RENDER_RULES = 1;

const require = createRequire(import.meta.url);
const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

/** For example `markdown-it 15.0.3, sanitize-html 2.18.1, rules 1`. */
export const RENDERER = `markdown-it ${version('markdown-it')}, sanitize-html ${version('sanitize-html')}, rules ${RENDER_RULES}`;
