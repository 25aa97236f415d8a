import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../config/config.js';

// Eta with auto-escaping on: `<%= %>` always escapes. The raw form `<%~ %>` is used only for
// the layout's body slot and for HTML that came out of the one Markdown sanitizer.

export const VIEWS_DIR = fileURLToPath(new URL('../views/', import.meta.url));

/** Data every page may use; routes add their own fields. */
export interface PageData {
  readonly title: string;
  readonly [key: string]: unknown;
}

declare module 'fastify' {
  interface FastifyReply {
    /** Renders views/<name>.eta inside the layout and sends it as HTML. */
    page(name: string, data: PageData): FastifyReply;
  }
  interface FastifyRequest {
    /** Extra values every template receives (the user, the CSRF token …), set by later layers. */
    viewLocals: Record<string, unknown>;
  }
}

export function createViews(config: Config): Eta {
  return new Eta({ views: VIEWS_DIR, autoEscape: true, cache: config.nodeEnv !== 'development', useWith: false, varName: 'it' });
}

export function registerViews(app: FastifyInstance, config: Config): Eta {
  const eta = createViews(config);
  app.decorateRequest('viewLocals', null as unknown as Record<string, unknown>);
  app.addHook('onRequest', function initViewLocals(request, _reply, done) {
    request.viewLocals = {};
    done();
  });
  app.decorateReply('page', function page(this: FastifyReply, name: string, data: PageData) {
    const html = eta.render(name, { ...this.request.viewLocals, ...data });
    return this.type('text/html; charset=utf-8').send(html);
  });
  return eta;
}
