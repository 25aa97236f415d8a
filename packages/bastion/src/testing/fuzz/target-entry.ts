// The app under fuzz, in a process of its own: a request that loops forever blocks this
// process's event loop, never the test's, so the test's per-request timeout still fires and
// names the request. The app is whatever the builder module named by the parent exports
// (BASTION_KIT_BUILDER, BASTION_KIT_BUILDER_EXPORT), built on the isolation the parent made;
// every route is collected as it registers (schema included) and handed to the parent.
// IPC: the parent asks for this process's CPU time around each request, for accounts to speak
// as (written in the database, as a test's fixtures are) and for who a token stands for now.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../config/load-config.js';
import { openRuntime } from '../../runtime.js';
import { createUser } from '../accounts.js';
import type { AppBuilder } from '../app-under-test.js';
import { routeCatalogue } from '../route-catalogue.js';
import type { FuzzAccount, ParentMessage, TargetMessage } from './target-protocol.js';

const send = (message: TargetMessage): void => {
  process.send!(message);
};

const builderUrl = process.env.BASTION_KIT_BUILDER;
const exportName = process.env.BASTION_KIT_BUILDER_EXPORT ?? 'buildApp';
if (!builderUrl) throw new Error('fuzz target: BASTION_KIT_BUILDER names no module');
const build = ((await import(builderUrl)) as Record<string, unknown>)[exportName];
if (typeof build !== 'function') throw new Error(`fuzz target: ${builderUrl} exports no function ${exportName}`);

const { config } = loadConfig({ dotenvPath: null });
const searchPath = process.env.BASTION_TEST_SEARCH_PATH;
const redisPrefix = process.env.BASTION_TEST_REDIS_PREFIX;
const runtime = await openRuntime(config, { ...(searchPath ? { searchPath } : {}), ...(redisPrefix ? { redisPrefix } : {}) });
const catalogue = routeCatalogue();
// The log is not read here; keeping it off the pipe keeps the fuzz loop's own cost small.
const logStream = new Writable({ write: (_chunk, _enc, cb) => cb() });
const app: FastifyInstance = await (build as AppBuilder)(runtime, { logStream, onRoute: catalogue.onRoute });
await app.listen({ host: '127.0.0.1', port: config.port });
// Bastion's API tokens, if this app has them (an app with no API face may not).
const tokens = app.hasDecorator('apiTokens') ? app.apiTokens : null;

async function account(role: 'admin' | 'member'): Promise<FuzzAccount> {
  const user = await createUser(runtime, { role });
  return { username: user.username, email: user.email, password: user.password, token: tokens ? await tokens.issue(user.id) : null };
}

async function whois(token: string | null, username: string): Promise<{ username: string; role: string } | null> {
  if (token !== null && tokens) return tokens.authenticate(token);
  const row = await runtime.db.kysely
    .selectFrom('users')
    .select(['username', 'role'])
    .where('username', '=', username)
    .where('locked_at', 'is', null)
    .executeTakeFirst();
  return row ?? null;
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', id: message.id, micros: user + system });
  } else if (message.type === 'account') {
    account(message.role).then(
      (made) => send({ type: 'account', id: message.id, account: made }),
      (err: unknown) => send({ type: 'account', id: message.id, error: String(err) }),
    );
  } else {
    whois(message.token, message.username).then(
      (user) => send({ type: 'whois', id: message.id, user: user ? { username: user.username, role: user.role } : null }),
      () => send({ type: 'whois', id: message.id, user: null }),
    );
  }
});
process.once('disconnect', () => {
  void app
    .close()
    .then(() => runtime.close())
    .finally(() => process.exit(0));
});
send({ type: 'ready', routes: catalogue.routes });
