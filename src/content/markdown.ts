import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

// The one Markdown renderer. Two independent layers, so a bug in either is not enough for XSS:
// markdown-it with raw HTML off (a `<script>` in the source is shown as text), then
// sanitize-html with an allowlist of tags, attributes and URL schemes. Articles are rendered
// once when written and the result is stored (articles.body_html); reads never re-render.

const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });

const ALLOWED_TAGS = [
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'em', 'strong', 'del', 's', 'a', 'code', 'pre', 'blockquote',
  'ul', 'ol', 'li', 'hr', 'br', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
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
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'iframe', 'svg', 'math', 'template', 'xmp', 'noembed', 'noframes', 'plaintext'],
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

/** Runs arbitrary HTML through the same allowlist (for HTML that did not come from Markdown). */
export function sanitize(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}
