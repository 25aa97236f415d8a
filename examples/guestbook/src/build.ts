import type { FastifyInstance } from 'fastify';
import { createBastion, migrateToLatest, type BastionOptions, type Runtime } from 'bastion';
import { guestbook } from './guestbook.js';

// The guestbook built on a runtime someone else opened (the attack kit's isolated store, in a
// process of its own for the fuzzer): its table is brought up first, then the app is built as
// main.ts builds it. With buildApp's shape, so Bastion's attack kit can run it.

export async function buildGuestbook(
  runtime: Runtime,
  options: Pick<BastionOptions, 'onRoute' | 'logStream'> = {},
): Promise<FastifyInstance> {
  const { migrations, ...app } = guestbook();
  await migrateToLatest(runtime.db, migrations);
  return createBastion(runtime, { ...app, ...options });
}
