import type { FastifyInstance } from 'fastify';
import { countMailFailures, KEPT_MAIL_FAILURES, listMailFailures } from '../../mail/mail-failures.js';
import type { Runtime } from '../../runtime.js';
import { paginate, pageRequest } from '../../http/paging.js';
import { pageField } from './admin-schemas.js';

// /admin/mail: the mail the app gave up on (packages/bastion/src/mail/mail-failures.ts), newest first, a page at a
// time (?page=, a whole number within the lists' bound, as every admin list): when, which
// template, to whom, why. Admins only. The table keeps the newest KEPT_MAIL_FAILURES, so its
// count and any page of it cost little.

const mailQuery = { type: 'object', additionalProperties: false, properties: { page: pageField } } as const;

export async function mailFailurePages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  app.get<{ Querystring: { page: number } }>(
    '/admin/mail',
    { config: { access: 'admin' }, schema: { querystring: mailQuery } },
    async function mailFailuresPage(request, reply) {
      const { page } = request.query;
      const [failures, total] = await Promise.all([listMailFailures(runtime.db, pageRequest(page)), countMailFailures(runtime.db)]);
      return reply.header('cache-control', 'no-store').page('admin/mail', {
        title: 'Admin: mail failures',
        tabs: app.adminTabs(request.member, 'mail'),
        failures,
        total,
        kept: KEPT_MAIL_FAILURES,
        mailEnabled: app.mailer.enabled,
        pagination: paginate('/admin/mail', page, total),
      });
    },
  );
}
