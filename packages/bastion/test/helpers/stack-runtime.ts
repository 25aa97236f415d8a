import { loadConfig } from '../../src/config/load-config.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { isolate, randomKey, type BackendName } from '../../src/testing/backends.js';

/** A runtime on an isolated store of `backend` with the stack's tables only (no app's migrations); closed and removed after the test. */
export async function stackRuntime(t: { after(fn: () => Promise<void>): void }, backend: BackendName): Promise<Runtime> {
  const iso = await isolate(backend);
  const { config } = loadConfig({ env: { NODE_ENV: 'test', SECRET_KEY: randomKey(), ...iso.env }, dotenvPath: null });
  const runtime = await openRuntime(config, { searchPath: iso.searchPath, redisPrefix: iso.redisPrefix }).catch(async (err: unknown) => {
    await iso.cleanup();
    throw err;
  });
  t.after(async () => {
    await runtime.close();
    await iso.cleanup();
  });
  return runtime;
}
