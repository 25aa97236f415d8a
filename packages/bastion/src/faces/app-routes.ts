import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

/**
 * An application's routes for one face. Called inside a scope of its own within that face, so
 * its routes get the face's credential, CSRF defence, error shape and route rules, and a hook it
 * adds reaches its own routes only, never Bastion's pages beside them.
 */
export type AppRoutes = (scope: FastifyInstance, runtime: Runtime) => Promise<void>;

/** Registers each of `routes` in a child scope of `face`. */
export async function registerAppRoutes(face: FastifyInstance, runtime: Runtime, routes: readonly AppRoutes[]): Promise<void> {
  for (const add of routes) {
    await face.register(async function appRoutes(scope) {
      await add(scope, runtime);
    });
  }
}
