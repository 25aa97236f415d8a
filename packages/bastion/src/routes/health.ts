import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import { readinessProbe, type CheckState } from './readiness.js';

// /healthz: the process answers. /readyz: each dependency is named ok or failing, with no
// version, path or error message that would tell an attacker what runs behind.

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** One readiness result serves every probe for this long (packages/bastion/src/routes/readiness.ts). */
export const READINESS_INTERVAL_MS = 1_000;

export async function healthRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const noQuery = { querystring: { type: 'object', additionalProperties: false, properties: {} } };

  app.get('/healthz', { config: { access: 'public' }, schema: noQuery }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  const readiness = readinessProbe({
    intervalMs: READINESS_INTERVAL_MS,
    async check() {
      const checks: Record<string, CheckState> = {};
      checks.database = await withTimeout(sql`select 1`.execute(runtime.db.kysely), 2_000).then(
        () => 'ok' as const,
        () => 'failing' as const,
      );
      if (runtime.redis) {
        const redis = runtime.redis;
        checks.redis = await withTimeout(redis.ping(), 2_000).then(
          () => 'ok' as const,
          () => 'failing' as const,
        );
      }
      return checks;
    },
  });

  app.get('/readyz', { config: { access: 'public' }, schema: noQuery }, async (_request, reply) => {
    const checks = await readiness();
    const ready = Object.values(checks).every((v) => v === 'ok');
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
    return { status: ready ? 'ok' : 'failing', checks };
  });
}
