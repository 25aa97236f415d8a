import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta, type TemplateFunction } from 'eta';
import { rememberPaths } from '../http/views.js';

// A mail template is a folder `<dir>/<id>/` with three Eta files:
//   subject.eta — one line of plain text; the rendered subject is refused (not cleaned) if it
//                 holds a control character (packages/bastion/src/mail/mail-address.ts), so it is not escaped;
//   text.eta    — the plain-text part; interpolated values lose their control characters (but
//                 keep newlines and tabs): nothing in a value can act on a terminal or a reader;
//   html.eta    — the HTML part, auto-escaped like every page (`<%= %>` always escapes).

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const TEMPLATE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// eslint-disable-next-line no-control-regex
const TEXT_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const textEscape = (value: unknown): string => String(value).replace(TEXT_CONTROL, '');

export class UnknownMailTemplateError extends Error {
  constructor(id: string) {
    super(`no mail template "${id}"`);
    this.name = 'UnknownMailTemplateError';
  }
}

export class MailTemplates {
  readonly #dir: string;
  readonly #cache: boolean;
  readonly #html: Eta;
  readonly #text: Eta;
  readonly #subject: Eta;
  readonly #subjects = new Map<string, TemplateFunction>();

  /** `cache` off re-reads the files on every render (development). */
  constructor(dir: string, options: { readonly cache: boolean }) {
    this.#dir = dir;
    this.#cache = options.cache;
    const base = { views: dir, cache: options.cache, useWith: false, varName: 'it' } as const;
    this.#html = new Eta({ ...base, autoEscape: true });
    this.#text = new Eta({ ...base, autoEscape: true, escapeFunction: textEscape });
    this.#subject = new Eta({ ...base, autoEscape: false });
    if (options.cache) {
      rememberPaths(this.#html);
      rememberPaths(this.#text);
    }
  }

  /** Renders the three parts; throws UnknownMailTemplateError for an id with no template folder. */
  render(id: string, data: object): RenderedMail {
    if (!TEMPLATE_ID.test(id)) throw new UnknownMailTemplateError(id);
    return {
      subject: this.#subjectFunction(id).call(this.#subject, data),
      text: this.#text.render(`${id}/text`, data),
      html: this.#html.render(`${id}/html`, data),
    };
  }

  // The subject's source loses its trailing newline before it is compiled, so whatever the
  // rendered subject ends with came from the data (and a newline there is refused).
  #subjectFunction(id: string): TemplateFunction {
    const cached = this.#subjects.get(id);
    if (cached) return cached;
    let source: string;
    try {
      source = readFileSync(join(this.#dir, id, 'subject.eta'), 'utf8');
    } catch {
      throw new UnknownMailTemplateError(id);
    }
    const compiled = this.#subject.compile(source.trimEnd());
    if (this.#cache) this.#subjects.set(id, compiled);
    return compiled;
  }
}
