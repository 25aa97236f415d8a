import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { auditPages } from './audit-pages.js';
import { mailFailurePages } from './mail-failure-pages.js';
import { userAdminPages } from './user-admin-pages.js';

// Bastion's admin area (SPEC §2 /admin): users and roles, the audit log, mail that could not be
// sent. Content moderation is the application's (Conduit's: moderation-pages.ts, registered in
// apps/conduit/src/app.ts). Each route carries its own role guard; nothing here is reachable by a member.
export async function adminPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  await app.register(userAdminPages, runtime);
  await app.register(auditPages, runtime);
  await app.register(mailFailurePages, runtime);
}
