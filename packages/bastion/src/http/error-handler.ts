import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { AppError, ERRORS, UNAVAILABLE_RETRY_AFTER_SECONDS, codeForStatus, type ErrorCode } from './app-error.js';
import { isDependencyUnavailable } from './dependency-errors.js';
import { headerSetter } from './security-headers.js';
import { createViews } from './views.js';
import type { Site } from '../config/site.js';

// Every failure becomes a clear answer in the face of the route: the RealWorld error shape
// under /api, a friendly page elsewhere. Client mistakes are 4xx; the response never carries a
// stack, path, SQL or library name, only our catalogue's message and the request id that the
// log line also carries.
// The face is never read from the URL's text: each face sets its own handlers inside its scope
// (registerErrorFace), so the route Fastify matched decides, and for a path no route matches,
// the router's own prefix match does (/api/… has the API's 404). The root's handler, for the
// routes outside both faces (health probes, static files), answers as a page.

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
};

/** The RealWorld JSON errors of /api, or the HTML error pages. */
export type Face = 'api' | 'page';

const MAX_FIELD_NAME = 64;

// Used only if rendering the error page itself fails: nothing in it can fail or leak.
const FALLBACK_PAGE = (status: number, requestId: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><h1>${status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Error'}</h1><p>Request id: ${requestId}</p></body></html>`;

interface Answer {
  status: number;
  code: ErrorCode;
  message: string;
  fields?: Readonly<Record<string, readonly string[]>>;
  headers?: Readonly<Record<string, string>>;
}

function classify(error: FastifyError | AppError | Error): Answer {
  if (error instanceof AppError) {
    return { status: error.statusCode, code: error.code, message: error.message, fields: error.fields, headers: error.headers };
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    // Field names can come from the attacker ("__proto__", a megabyte of text): a null-prototype
    // object keeps "__proto__" an ordinary key, and names are cut short before being echoed.
    const fields: Record<string, string[]> = Object.create(null);
    for (const v of fe.validation) {
      const path = (v.instancePath || '').split('/').filter(Boolean);
      const missing = (v.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
      const field = (
        missing.missingProperty ??
        missing.additionalProperty ??
        path[path.length - 1] ??
        fe.validationContext ??
        'body'
      ).slice(0, MAX_FIELD_NAME);
      const text = missing.additionalProperty
        ? 'is not a field that can be set'
        : missing.missingProperty
          ? "can't be blank"
          : (v.message ?? 'is invalid');
      (fields[field] ??= []).push(text);
    }
    return { status: 422, code: 'VALIDATION', message: ERRORS.VALIDATION.message, fields };
  }
  if (fe.code && FASTIFY_CODES[fe.code]) {
    const code = FASTIFY_CODES[fe.code]!;
    return { status: ERRORS[code].status, code, message: ERRORS[code].message };
  }
  if (error instanceof SyntaxError && (fe.statusCode ?? 500) === 400)
    return { status: 400, code: 'MALFORMED_JSON', message: ERRORS.MALFORMED_JSON.message };
  // PostgreSQL or Redis down, unreachable or in a transient conflict: not a bug the client
  // caused, and worth retrying shortly (packages/bastion/src/http/dependency-errors.ts).
  if (isDependencyUnavailable(error)) return { status: 503, code: 'UNAVAILABLE', message: ERRORS.UNAVAILABLE.message };
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  const code = codeForStatus(status);
  return { status, code, message: ERRORS[code].message };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, answer: Answer, face: Face): FastifyReply {
  // Every 503 tells clients (and load balancers) when to come back.
  if (answer.status === 503) reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  if (answer.headers) reply.headers(answer.headers);
  if (face === 'api') {
    const errors: Record<string, readonly string[]> =
      answer.fields && Object.keys(answer.fields).length > 0 ? answer.fields : { body: [answer.message] };
    return reply.code(answer.status).type('application/json; charset=utf-8').send({ errors, requestId: request.id });
  }
  if (answer.code === 'UNAUTHORIZED') {
    // A page that needs a signed-in user sends a visitor to sign in, coming back here after.
    // Only a GET can be safely repeated after login; a form post returns to the start.
    const next = request.method === 'GET' ? request.url : '/';
    return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
  }
  reply.code(answer.status);
  try {
    return reply.page('error', {
      title: answer.status >= 500 ? 'Something went wrong' : 'Error',
      status: answer.status,
      message: answer.message,
      fields: answer.fields ?? {},
      requestId: request.id,
    });
  } catch (err) {
    // A broken template must not hand the error to Fastify's default handler, which echoes it.
    request.log.error({ err, requestId: request.id }, 'error page failed to render');
    return reply.type('text/html; charset=utf-8').send(FALLBACK_PAGE(answer.status, /^[0-9a-f-]+$/.test(request.id) ? request.id : ''));
  }
}

function errorHandler(config: Config, face: Face): Parameters<FastifyInstance['setErrorHandler']>[0] {
  return function handleError(thrown, request, reply) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const answer = classify(error);
    if (answer.status >= 500) {
      // The stack stays in the log; the response gets only the request id to quote.
      request.log.error({ err: error, requestId: request.id }, 'request failed');
    } else {
      request.log.info({ requestId: request.id, code: answer.code, status: answer.status }, 'request refused');
    }
    if (config.debug && !config.isProduction && answer.status >= 500) {
      answer.message = `${answer.message} (${error.message})`;
    }
    return sendError(request, reply, answer, face);
  };
}

/** The root's handler: the routes outside both faces (health probes, static files) answer as pages. */
export function registerErrorHandling(app: FastifyInstance, config: Config): void {
  app.setErrorHandler(errorHandler(config, 'page'));
}

/**
 * A face's own error handler and 404, set inside its scope: its routes, and the paths its prefix
 * covers that no route matches, answer in its shape. The pages' scope has no prefix, so its 404
 * is every unknown path outside /api — with the session and CSRF hooks of that scope.
 */
export function registerErrorFace(scope: FastifyInstance, config: Config, face: Face): void {
  scope.setErrorHandler(errorHandler(config, face));
  scope.setNotFoundHandler(function notFound(request, reply) {
    return sendError(request, reply, { status: 404, code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message }, face);
  });
}

/** Whether a client that reached no route reads HTML (a browser navigating) rather than JSON. */
const acceptsHtml = (request: FastifyRequest): boolean => (request.headers.accept ?? '').includes('text/html');

/**
 * Errors Fastify's router raises before any hook runs (a URL that is not valid percent-encoding,
 * a path parameter over maxParamLength). Left alone they answer with Fastify's own JSON, which
 * names the library and echoes the path, and without our headers; here they get both.
 */
export function frameworkErrorHandler(
  config: Config,
  site: Site,
  viewRoots: readonly string[] = [],
): NonNullable<FastifyServerOptions['frameworkErrors']> {
  const applyHeaders = headerSetter(config);
  const eta = createViews(config, viewRoots);
  return function handleFrameworkError(error, request, genericReply) {
    const reply = genericReply as unknown as FastifyReply;
    applyHeaders(request, reply);
    // This reply is built from Fastify's base class, without our decorators: give it `page`.
    reply.page = (name, data) => reply.type('text/html; charset=utf-8').send(eta.render(name, { ...data, site }));
    request.log.info({ requestId: request.id, code: 'BAD_REQUEST', status: 400, reason: error.code }, 'request refused');
    // No route was matched, so no face exists to ask: a browser gets the page, any other
    // client the JSON errors, which, like all of /api's answers, no cache may keep.
    const face: Face = acceptsHtml(request) ? 'page' : 'api';
    if (face === 'api') reply.header('cache-control', 'no-store');
    sendError(request, reply, { status: 400, code: 'BAD_REQUEST', message: ERRORS.BAD_REQUEST.message }, face);
  };
}
