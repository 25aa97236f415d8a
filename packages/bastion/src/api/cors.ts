import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { registerVendorPlugin } from '../http/route-rules.js';

// CORS for /api only, closed unless CORS_ORIGINS names an origin. Always a list, never a bare
// string: @fastify/cors sends a single string to every caller, while a list is compared exactly
// against the request's Origin, so an arbitrary Origin is never reflected. The API takes bearer
// tokens, not cookies, so credentials are never allowed. Its preflight route (OPTIONS /api/*) is
// its own: public, and it reads nothing but the CORS headers.
export async function registerApiCors(api: FastifyInstance, config: Config): Promise<void> {
  await registerVendorPlugin(api, cors, {
    origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  });
}
