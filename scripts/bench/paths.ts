// Routes the runner, the app child and the baseline children agree on.

/** The trivial route: `{"status":"ok"}`, the same in the app and in bare Fastify. */
export const TRIVIAL_PATH = '/bench/ping';
/** Bare Fastify's trivial route sending the app's response headers: what those bytes cost alone. */
export const TRIVIAL_HEADERS_PATH = '/bench/ping-with-headers';
/** The article list; the bare query baseline serves the same JSON on the same path. */
export const LIST_PATH = '/api/articles';
