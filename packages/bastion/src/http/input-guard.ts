import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './app-error.js';

// Checks every parsed input before schema validation: NUL characters (PostgreSQL cannot store
// them and C-based code truncates at them) and nesting deeper than any schema allows. The walk
// is iterative so that a 10,000-deep body cannot exhaust the stack.

export const MAX_DEPTH = 16;

export function findProblem(value: unknown): 'NUL_BYTE' | 'TOO_DEEP' | null {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'string') {
      if (item.includes('\0')) return 'NUL_BYTE';
    } else if (item !== null && typeof item === 'object') {
      if (depth >= MAX_DEPTH) return 'TOO_DEEP';
      for (const key in item) {
        if (key.includes('\0')) return 'NUL_BYTE';
        stack.push([(item as Record<string, unknown>)[key], depth + 1]);
      }
    }
  }
  return null;
}

export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', function guardInput(request: FastifyRequest, _reply, done) {
    if (request.url.includes('%00')) return done(new AppError('NUL_BYTE'));
    const problem = findProblem(request.body) ?? findProblem(request.query) ?? findProblem(request.params);
    done(problem ? new AppError(problem) : undefined);
  });
}
