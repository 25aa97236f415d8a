import type { FastifyInstance } from 'fastify';
import { KEPT_MAIL_FAILURES, listMailFailures } from '../../mail/mail-failures.js';
import type { Runtime } from '../../runtime.js';
import { adminTabs } from './admin-tabs.js';

// /admin/mail: the mail the app gave up on (src/mail/mail-failures.ts), newest first: when,
// which template, to whom, why. Admins only; the table keeps the newest KEPT_MAIL_FAILURES.

const SHOWN = 200;

export async function mailFailurePages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  app.get('/admin/mail', { config: { access: 'admin' } }, async function mailFailuresPage(request, reply) {
    const failures = await listMailFailures(runtime.db, { limit: SHOWN });
    return reply.header('cache-control', 'no-store').page('admin/mail', {
      title: 'Admin: mail failures',
      tabs: adminTabs(request.member, 'mail'),
      failures,
      shown: SHOWN,
      kept: KEPT_MAIL_FAILURES,
      mailEnabled: app.mailer.enabled,
    });
  });
}
