// The app under fuzz, in a process of its own: a request that loops forever blocks this
// process's event loop, never the test's, so the test's per-request timeout still fires and
// names the request. Built like test/helpers/test-app.ts on the isolation the parent made;
// every route is collected as it registers (schema included) and handed to the parent.
// IPC: the parent asks for this process's CPU time around each request, and for fixtures that
// need the database (an admin role).
import { Writable } from 'node:stream';
import type { RouteOptions } from 'fastify';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { openRuntime } from '../../../src/runtime.js';
import type { FuzzRoute, ParentMessage, TargetMessage } from './target-protocol.js';

const send = (message: TargetMessage): void => {
  process.send!(message);
};

const { config } = loadConfig({ dotenvPath: null });
const searchPath = process.env.BASTION_TEST_SEARCH_PATH;
const redisPrefix = process.env.BASTION_TEST_REDIS_PREFIX;
const runtime = await openRuntime(config, { ...(searchPath ? { searchPath } : {}), ...(redisPrefix ? { redisPrefix } : {}) });
const routes: FuzzRoute[] = [];
// The log is not read here; keeping it off the pipe keeps the fuzz loop's own cost small.
const logStream = new Writable({ write: (_chunk, _enc, cb) => cb() });
const app = await buildApp(runtime, {
  logStream,
  onRoute: (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // JSON round trip: TypeBox's symbol keys and compiled bits stay behind, the JSON Schema goes.
    const schema = JSON.parse(JSON.stringify({ params: route.schema?.params, querystring: route.schema?.querystring, body: route.schema?.body })) as FuzzRoute['schema'];
    for (const method of methods) routes.push({ method: String(method), url: route.url, schema });
  },
});
await app.listen({ host: '127.0.0.1', port: config.port });

process.on('message', (message: ParentMessage) => {
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', id: message.id, micros: user + system });
  } else if (message.type === 'role') {
    runtime.db.kysely
      .updateTable('users')
      .set({ role: message.role })
      .where('username', '=', message.username)
      .execute()
      .then(
        () => send({ type: 'done', id: message.id }),
        (err: unknown) => send({ type: 'done', id: message.id, error: String(err) }),
      );
  }
});
process.once('disconnect', () => {
  void app.close().then(() => runtime.close()).finally(() => process.exit(0));
});
send({ type: 'ready', routes });
