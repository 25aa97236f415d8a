import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { securityHeaders } from '../../packages/bastion/src/http/security-headers.js';
import { postgresList, sqliteList } from './bare-query.js';
import { readSpec, serveIpc } from './child-ipc.js';
import { LIST_PATH, TRIVIAL_HEADERS_PATH, TRIVIAL_PATH } from './paths.js';

// Child process: the baselines. Bare Fastify (no logger, no hooks, no schemas) answering the
// trivial route; the same route sending the app's production response headers and a request
// id, to tell what those bytes cost from what the security layer's checks cost; and the bare
// query baseline: the article list from one prepared statement on
// the same database the app uses (the same SQLite file, or the same PostgreSQL schema).

export interface BaselineSpec {
  readonly sqliteFile: string | null;
  readonly postgres: { readonly url: string; readonly schema: string; readonly poolMax: number } | null;
}

const spec = readSpec<BaselineSpec>();
const bare =
  spec.sqliteFile !== null ? sqliteList(spec.sqliteFile) : postgresList(spec.postgres!.url, spec.postgres!.schema, spec.postgres!.poolMax);

const app = Fastify();
app.get(TRIVIAL_PATH, async () => ({ status: 'ok' }));
const headers = Object.entries(securityHeaders({ isProduction: true }));
app.get(TRIVIAL_HEADERS_PATH, async (_request, reply) => {
  for (const [name, value] of headers) reply.header(name, value);
  reply.header('x-request-id', randomUUID());
  return { status: 'ok' };
});
app.get<{ Querystring: { limit?: string; offset?: string } }>(LIST_PATH, async (request) => {
  const limit = Math.min(Math.max(Number(request.query.limit ?? 20) || 20, 1), 100);
  const offset = Math.max(Number(request.query.offset ?? 0) || 0, 0);
  return bare.list(limit, offset);
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
serveIpc(typeof address === 'object' && address ? address.port : 0, async () => {
  await app.close();
  await bare.close();
});
