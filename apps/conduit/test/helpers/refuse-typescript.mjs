// Preloaded (`--import <this file>`) into a process that must run without TypeScript: any module
// resolved to a .ts/.mts/.cts file, or from tsx or esbuild, throws instead of loading. Worker
// threads inherit the process's execArgv, so the hook runs in each of them too.
import { registerHooks } from 'node:module';

const FORBIDDEN = /\.[cm]?ts$|\/node_modules\/(?:tsx|esbuild|@esbuild)\//;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    if (FORBIDDEN.test(new URL(resolved.url).pathname))
      throw new Error(`refused to load ${resolved.url}: this process must run without TypeScript`);
    return resolved;
  },
});
