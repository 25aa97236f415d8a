import type { FastifyInstance } from 'fastify';
import { clientGone } from '../../http/client-gone.js';
import type { Runtime } from '../../runtime.js';
import { paginate, pageRequest } from '../../http/paging.js';
import { pageField, searchTermField } from './admin-schemas.js';
import { listAudit } from './audit-query.js';

// /admin/audit: the security events, newest first, filtered by event, actor and IP address.
// Admins only. The filters are a GET form, so a filtered view is a link that can be shared.

// The event filter offers Bastion's events and the application's.
const auditQuery = (events: readonly string[]) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: {
      event: { type: 'string', enum: ['', ...events], default: '' },
      actor: searchTermField,
      // Only what an IPv4 or IPv6 address is made of.
      ip: { type: 'string', maxLength: 64, pattern: '^[0-9A-Fa-f:.]*$', default: '' },
      page: pageField,
    },
  }) as const;
interface AuditQuery {
  event: string;
  actor: string;
  ip: string;
  page: number;
}

export async function auditPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  app.get<{ Querystring: AuditQuery }>(
    '/admin/audit',
    { config: { access: 'admin' }, schema: { querystring: auditQuery(app.auditEvents) } },
    async function auditPage(request, reply) {
      const { event, actor, ip, page } = request.query;
      const list = await app.clientScan(request, () =>
        listAudit(runtime.db, { ...(event === '' ? {} : { event }), actor, ip }, pageRequest(page), clientGone(reply)),
      );
      return reply.header('cache-control', 'no-store').page('admin/audit', {
        title: 'Admin: audit log',
        tabs: app.adminTabs(request.member, 'audit'),
        events: app.auditEvents,
        event,
        actor,
        ip,
        entries: list.items,
        total: list.total,
        pagination: paginate('/admin/audit', page, list.total, { event, actor, ip }),
      });
    },
  );
}
