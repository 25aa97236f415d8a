import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

// The one Markdown renderer. Two independent layers, so a bug in either is not enough for XSS:
// markdown-it with raw HTML off (a `<script>` in the source is shown as text), then
// sanitize-html with an allowlist of tags, attributes and URL schemes. Articles are rendered
// once when written and the result is stored (articles.body_html); reads never re-render.
// Writes render on a worker thread, bounded in size and time (apps/conduit/src/content/markdown-pool.ts).
// A change here that changes the output raises RENDER_RULES (apps/conduit/src/content/renderer-version.ts), so
// that `bastion rerender` redoes the HTML stored before it.

const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });
// markdown-it 15's linkify-it 6 no longer links bare domains (`www.example.com`) by default;
// authors have written them expecting a link, and a dependency upgrade should not take those
// links out of their articles. Its other new defaults are kept: a URL's link ends at Unicode
// punctuation (`。`), and a user:password@ part is no longer taken into a link (the
// `https://bank.example@evil.example` disguise).
markdown.linkify.set({ fuzzyLink: true });

const ALLOWED_TAGS = [
  'p',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'em',
  'strong',
  'del',
  's',
  'a',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'hr',
  'br',
  'img',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
];

const LINK_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'mailto:']);
const IMAGE_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:']);

// Stricter than a scheme check: a URL is kept only when it parses as absolute with an allowed
// scheme, or (links only) is a same-site path or a fragment. Anything odd, such as
// `jav%09ascript:` or `//evil.example`, loses its href instead of being guessed about.
function safeUrl(value: string, schemes: ReadonlySet<string>, allowLocal: boolean): boolean {
  if (allowLocal && (/^\/(?![/\\])/.test(value) || value.startsWith('#'))) return true;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(value)) return false;
  try {
    return schemes.has(new URL(value).protocol);
  } catch {
    return false;
  }
}

export const LINK_REL = 'nofollow noopener noreferrer';

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    ol: ['start'],
    th: ['align'],
    td: ['align'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  allowedStyles: {},
  // Disallowed elements are dropped but their text kept; these are dropped with their content.
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'iframe',
    'svg',
    'math',
    'template',
    'xmp',
    'noembed',
    'noframes',
    'plaintext',
  ],
  disallowedTagsMode: 'discard',
  enforceHtmlBoundary: false,
  parseStyleAttributes: false,
  transformTags: {
    // Every link, whatever the source said, is nofollow and cannot reach window.opener.
    a: (tagName, attribs) => {
      const { href, ...rest } = attribs;
      const safe = href !== undefined && safeUrl(href, LINK_SCHEMES, true);
      return { tagName, attribs: { ...rest, ...(safe ? { href } : {}), rel: LINK_REL } };
    },
    img: (tagName, attribs) => {
      const { src, ...rest } = attribs;
      return { tagName, attribs: src !== undefined && safeUrl(src, IMAGE_SCHEMES, false) ? { ...rest, src } : rest };
    },
  },
  exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
};

/** Markdown source → sanitized HTML, safe to emit raw (`<%~ %>`) in a template. */
export function renderMarkdown(source: string): string {
  return sanitizeHtml(markdown.render(source), SANITIZE);
}

// How much larger than its source stored HTML may be. Honest Markdown renders to 1–3 times its
// size; the densest legitimate constructs (a table of one-character cells, a run of short
// links, every `&` escaped) stay near 6. A reference link is different: defined once and used
// thousands of times, each three-character use repeats the whole URL, and a 99 KB body became
// 26.7 MiB of HTML that every view sent. Bodies are at most LIMITS.body (100,000 characters), so
// the most any article stores is about 800 KB.
export const RENDER_EXPANSION = 8;
/** Room for short sources, whose few links and paragraphs are large next to them. */
export const RENDER_ALLOWANCE = 16 * 1024;

/** The most HTML (in UTF-16 code units) a source of `length` may render to. */
export const renderLimit = (length: number): number => length * RENDER_EXPANSION + RENDER_ALLOWANCE;

/**
 * renderMarkdown, or null when the HTML outgrows renderLimit. markdown-it's own output is
 * checked first, so a blow-up is refused before the sanitizer walks megabytes of it (the
 * sanitizer only drops markup, and adds a short rel to each link).
 */
export function renderMarkdownBounded(source: string): string | null {
  const limit = renderLimit(source.length);
  const raw = markdown.render(source);
  if (raw.length > limit) return null;
  const html = sanitizeHtml(raw, SANITIZE);
  return html.length > limit ? null : html;
}

/** Runs arbitrary HTML through the same allowlist (for HTML that did not come from Markdown). */
export function sanitize(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}
