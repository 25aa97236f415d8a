import type { FastifyPluginAsync } from 'fastify';
import { buildMigratedApp } from '../../src/app.js';
import { noBody, type Runtime } from 'bastion';
import type { BuildOptions } from 'bastion/testing';

// Conduit plus four routes that each lose one defence the way app code can, for
// apps/conduit/test/attack-kit.test.ts to prove the kit names them. Each mistake is one Bastion cannot
// refuse at registration, which is why the kit attacks from outside:
//  - GET /broken/report: declared for members, but the scope's own onRoute hook (meant to add
//    a timing hook) replaces the route's onRequest list, and the access guard with it;
//  - POST /broken/quick-action: does its work in an onRequest hook, which runs before the
//    CSRF check (a preValidation hook), so a forged post acts;
//  - GET /broken/export: streams through reply.raw after hijacking the reply, so none of the
//    headers set on the reply are ever written;
//  - GET /broken/echo?q=: parses the query as JSON without a try, so text that is not JSON
//    is a 500.

const brokenPages: FastifyPluginAsync = async (pages) => {
  await pages.register(async (timed) => {
    timed.addHook('onRoute', (route) => {
      route.onRequest = [async function startTimer() {}];
    });
    timed.get('/broken/report', { config: { access: 'member' } }, async () => ({ report: 'members only' }));
  });
  pages.post(
    '/broken/quick-action',
    {
      config: { access: 'member' },
      schema: { body: noBody },
      onRequest: async (_request, reply) => reply.code(204).send(),
    },
    async () => ({ done: true }),
  );
  pages.get('/broken/export', { config: { access: 'public' } }, async (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/csv' });
    reply.raw.end('a,b\n1,2\n');
  });
  const echoQuery = { type: 'object', additionalProperties: false, properties: { q: { type: 'string', maxLength: 100 } } } as const;
  pages.get('/broken/echo', { config: { access: 'public' }, schema: { querystring: echoQuery } }, async (request) => {
    const { q } = request.query as { q?: string };
    return { value: q === undefined ? null : (JSON.parse(q) as unknown) };
  });
};

export function buildBrokenApp(runtime: Runtime, options: BuildOptions) {
  return buildMigratedApp(runtime, { ...options, extraRoutes: { pages: brokenPages } });
}
