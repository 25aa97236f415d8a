import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { conduitPages } from './conduit/conduit-pages.js';
import { authPages } from './auth-pages.js';
import { settingsPages } from './settings-pages.js';
import { adminPages } from './admin/admin-pages.js';

// Every server-rendered HTML page is registered from here.
export async function pageRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  await app.register(conduitPages, runtime);
  await app.register(authPages, runtime);
  await app.register(settingsPages, runtime);
  await app.register(adminPages, runtime);
}
