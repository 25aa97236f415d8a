import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { PASSKEY_NOTICES } from './passkey-pages.js';

// /settings/security: the account's second factors. Here only the passkey section
// (src/views/partials/passkeys.eta); two-factor codes and recovery codes join it from their own module.

const NOTICES = { ...PASSKEY_NOTICES } as const;
type Notice = keyof typeof NOTICES;
const securityQuery = { type: 'object', additionalProperties: false, properties: { done: { type: 'string', enum: Object.keys(NOTICES) } } } as const;

/** "29 Nov 2026, 10:15 UTC": the server has no idea of the reader's zone, so it says which. */
const readableTime = (iso: string): string =>
  `${new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' })} UTC`;

export async function securitySettingsPages(app: FastifyInstance, _runtime: Runtime): Promise<void> {
  app.get<{ Querystring: { done?: Notice } }>('/settings/security', { config: { access: 'member' }, schema: { querystring: securityQuery } }, async (request, reply) => {
    const done = request.query.done;
    return reply
      .header('cache-control', 'no-store')
      .page('security', { title: 'Security', notice: done ? NOTICES[done] : null, passkeys: await app.passkeys.list(request.member.id), when: readableTime });
  });
}
