import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';

// argon2id with the SPEC's parameters. The binding hashes on libuv's thread pool (off the event
// loop); a small semaphore bounds how many run at once, so a login flood queues here instead of
// taking every thread and starving file and DNS work.

export const ARGON2_PARAMS = Object.freeze({ type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });

export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
  get queued(): number {
    return this.waiting.length;
  }
}

// At most two hashes at once, and never more than the cores minus one: each hash keeps a core
// busy for tens of milliseconds, and the event loop needs a core of its own to keep answering
// other requests while logins queue (on a 2-core machine: one hash at a time).
export const HASH_CONCURRENCY = Math.max(1, Math.min(2, availableParallelism() - 1));
const slots = new Semaphore(HASH_CONCURRENCY);

export function hashPassword(password: string): Promise<string> {
  return slots.run(() => argon2.hash(password, ARGON2_PARAMS));
}

/** false for a wrong password and for a malformed hash alike; never throws on bad input. */
export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return slots.run(() => argon2.verify(hash, password).catch(() => false));
}

/** True when the stored hash was made with other parameters and should be redone at login. */
export function needsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, ARGON2_PARAMS);
  } catch {
    return true;
  }
}

// A real hash of a random password, verified against when the user does not exist, so an
// unknown user costs the same time as a wrong password.
let dummy: Promise<string> | null = null;
export async function verifyDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(32).toString('hex'));
  await verifyPassword(await dummy, password);
  return false;
}
