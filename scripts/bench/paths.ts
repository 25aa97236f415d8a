// Routes the runner, the app child and the baseline children agree on.

/** The trivial route: `{"status":"ok"}`, the same in the app and in bare Fastify. */
export const TRIVIAL_PATH = '/bench/ping';
/** The article list; the bare query baseline serves the same JSON on the same path. */
export const LIST_PATH = '/api/articles';
