// One error catalogue: every error Bastion answers with has a stable code, a status and a
// message safe to show to anyone. A retired code is never reused.

export const ERRORS = {
  BAD_REQUEST: { status: 400, message: 'The request could not be understood.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  INVALID_ENCODING: { status: 400, message: 'The request body is not valid UTF-8.' },
  NUL_BYTE: { status: 400, message: 'The request contains a NUL character.' },
  TOO_DEEP: { status: 400, message: 'The request body is nested too deeply.' },
  VALIDATION: { status: 422, message: 'The request has invalid fields.' },
  UNAUTHORIZED: { status: 401, message: 'Authentication is required.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do that.' },
  CSRF: { status: 403, message: 'The form has expired or did not come from this site. Please try again.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  CONFLICT: { status: 409, message: 'That conflicts with something that already exists.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large (1 MiB at most).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests. Please wait and try again.' },
  INTERNAL: { status: 500, message: 'Something went wrong on our side.' },
  UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable. Please try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Retry-After (seconds) on every 503: about the time a dropped store connection takes to return. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** A client-safe error: code and message may be shown; `fields` are per-field messages. */
export class AppError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    readonly fields?: Readonly<Record<string, readonly string[]>>,
    message?: string,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.statusCode = ERRORS[code].status;
  }
}

/** Maps a status code (from Fastify or a library) to our catalogue, never to the library's text. */
export function codeForStatus(status: number): ErrorCode {
  const found = (Object.keys(ERRORS) as ErrorCode[]).find((c) => ERRORS[c].status === status);
  if (found) return found;
  return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
}
