import { existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta, EtaFileResolutionError } from 'eta';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { Site } from '../config/site.js';

// Eta with auto-escaping on: `<%= %>` always escapes. The raw form `<%~ %>` is used only for
// the layout's body slot and for HTML that came out of the one Markdown sanitizer.

// Read from the sources whether this runs from packages/bastion/src/http or dist/http (both two levels below the
// package root): the templates are not compiled, so the build has no copy of them to go stale.
export const VIEWS_DIR = fileURLToPath(new URL('../../src/views/', import.meta.url));

/** Data every page may use (beside `it.site`, the application's identity); routes add their own fields. */
export interface PageData {
  readonly title: string;
  readonly [key: string]: unknown;
}

/** A template value computed only when a page is rendered, e.g. the CSRF token (which may set a cookie). */
export type ViewLocal = (request: FastifyRequest, reply: FastifyReply) => unknown;

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds a value every template receives, computed at render time (never for a response that renders no page). */
    addViewLocal(name: string, compute: ViewLocal): void;
  }
  interface FastifyReply {
    /** Renders views/<name>.eta inside the layout and sends it as HTML. */
    page(name: string, data: PageData): FastifyReply;
  }
  interface FastifyRequest {
    /** Extra values every template receives (the user, the CSRF token …), set by later layers. */
    viewLocals: Record<string, unknown>;
  }
}

/** `appRoots`: an application's template directories, layered over Bastion's (see layeredPaths). */
export function createViews(config: Config, appRoots: readonly string[] = []): Eta {
  const cache = config.nodeEnv !== 'development';
  const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache, useWith: false, varName: 'it' });
  if (appRoots.length > 0) eta.resolvePath = layeredPaths([...appRoots, VIEWS_DIR]);
  if (cache) rememberPaths(eta);
  return eta;
}

const isInside = (root: string, file: string): boolean => {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/**
 * Template directories as layers, the app's first: a name (`guestbook/home`, an include, a
 * layout) means the same path under each root, and the first root that has the file wins. So an
 * app adds its own pages and may restyle Bastion's (its own layout.eta is used by the login and
 * settings pages too), while a name leading out of every root is refused as Eta refuses it.
 */
function layeredPaths(roots: readonly string[]): NonNullable<Eta['resolvePath']> {
  return function resolveLayered(template, options) {
    const name = extname(template) ? template : `${template}.eta`;
    const base = options?.filepath;
    // Relative to the including file (Eta's rule), expressed as a path under its root.
    const baseRoot = base && !/^[\\/]/.test(name) ? roots.find((root) => isInside(root, base)) : undefined;
    const rel = base && baseRoot ? relative(baseRoot, join(dirname(base), name)) : name.replace(/^[\\/]+/, '');
    const candidates = roots.map((root) => join(root, rel)).filter((file, i) => isInside(roots[i]!, file));
    if (candidates.length === 0) throw new EtaFileResolutionError(`Template '${template}' is not in the views directory`);
    // None exists: Bastion's path, so Eta's own "could not find" error names it.
    return candidates.find((file) => existsSync(file)) ?? candidates[candidates.length - 1]!;
  };
}

// Eta resolves a template's name to its file on every render and every include (a JSON key,
// path.join, path.relative to check that it stays inside the views directory): a page of ten
// article previews spent more on that than on its own markup. Names are literals in the code
// and the templates, so each (including file, name) pair is resolved and checked once.
export function rememberPaths(eta: Eta): void {
  const resolve = eta.resolvePath!;
  const resolved = new Map<string, string>();
  eta.resolvePath = function resolvePathOnce(template, options) {
    const key = `${options?.filepath ?? ''}\0${template}`;
    let file = resolved.get(key);
    if (file === undefined) resolved.set(key, (file = resolve.call(this, template, options)));
    return file;
  };
}

export function registerViews(app: FastifyInstance, config: Config, site: Site, appRoots: readonly string[] = []): Eta {
  const eta = createViews(config, appRoots);
  app.decorateRequest('viewLocals', null as unknown as Record<string, unknown>);
  app.addHook('onRequest', function initViewLocals(request, _reply, done) {
    request.viewLocals = {};
    done();
  });
  // Computed values are registered once at start instead of defined on every request's locals:
  // most responses (JSON, redirects, trivial routes) render no page and pay nothing for them.
  const computed: Array<[string, ViewLocal]> = [];
  app.decorate('addViewLocal', function addViewLocal(name: string, compute: ViewLocal) {
    computed.push([name, compute]);
  });
  app.decorateReply('page', function page(this: FastifyReply, name: string, data: PageData) {
    const locals: Record<string, unknown> = { ...this.request.viewLocals };
    for (const [local, compute] of computed) locals[local] = compute(this.request, this);
    // `site` last: a page's data cannot rename the application.
    const html = eta.render(name, { ...locals, ...data, site });
    return this.type('text/html; charset=utf-8').send(html);
  });
  return eta;
}
