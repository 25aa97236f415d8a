import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

// STUB — the RealWorld JSON API (issue 4) is registered here under /api.
export async function apiRoutes(_app: FastifyInstance, _runtime: Runtime): Promise<void> {}
