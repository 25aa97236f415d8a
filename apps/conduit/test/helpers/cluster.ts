import type { TestContext } from 'node:test';
import { freePort, startInstance, type Instance } from './server-process.js';
import { isolate, randomKey, type Isolation } from 'bastion/testing';

// Several Bastion processes behind one imagined load balancer: the same PostgreSQL schema, the
// same Redis prefix, the same SECRET_KEY and one PUBLIC_ORIGIN (the balancer's address, a
// reserved loopback port nothing listens on: it only ever travels as an Origin header). Each
// process listens on its own loopback port. TRUST_PROXY=loopback lets the test speak for many
// clients through X-Forwarded-For, as the balancer would.

export interface Cluster {
  readonly iso: Isolation;
  /** The origin the balancer presents; forms must come from here. */
  readonly origin: string;
  readonly secretKey: string;
  /** The running instances, in start order; replace() swaps one in place. */
  readonly instances: Instance[];
  /** Starts one more instance with the cluster's environment (plus `env`). */
  add(env?: Record<string, string>): Promise<Instance>;
  /** Stops instance `index` (SIGTERM, drained) and starts a new one with `env` in its place. */
  replace(index: number, env?: Record<string, string>): Promise<Instance>;
}

export async function startCluster(t: TestContext, count: number, env: Record<string, string> = {}): Promise<Cluster> {
  const iso = await isolate('postgres');
  const instances: Instance[] = [];
  // Processes first, then the schema they use.
  t.after(async () => {
    for (const instance of instances) await instance.kill();
    await iso.cleanup();
  });
  const origin = `http://127.0.0.1:${await freePort()}`;
  const secretKey = randomKey();
  const base = { SECRET_KEY: secretKey, TRUST_PROXY: 'loopback', PUBLIC_ORIGIN: origin, ...iso.env, ...env };
  const start = (extra: Record<string, string>) =>
    startInstance(t, {
      env: { ...base, ...extra },
      ...(iso.searchPath ? { searchPath: iso.searchPath } : {}),
      ...(iso.redisPrefix ? { redisPrefix: iso.redisPrefix } : {}),
    });
  // Started together, as an orchestrator would: their migrations race and must not collide.
  instances.push(...(await Promise.all(Array.from({ length: count }, () => start({})))));
  return {
    iso,
    origin,
    secretKey,
    instances,
    async add(extra = {}) {
      const instance = await start(extra);
      instances.push(instance);
      return instance;
    },
    async replace(index, extra = {}) {
      const old = instances[index];
      if (!old) throw new Error(`no instance ${index}`);
      const stopped = await old.stop();
      if (stopped.code !== 0) throw new Error(`instance ${index} did not stop cleanly (${JSON.stringify(stopped)}):\n${old.logs()}`);
      const instance = await start(extra);
      instances[index] = instance;
      return instance;
    },
  };
}
