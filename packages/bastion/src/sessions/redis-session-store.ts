import type { Redis } from 'ioredis';
import type { SessionRecord, SessionStore } from './session-store.js';

// Sessions in Redis, shared by every instance: one JSON value per session with a TTL at its
// next expiry (so Redis forgets dead sessions by itself), and a set per user listing the
// hashes of that user's sessions (for the settings page and for revoke-all).

const sessionKey = (idHash: string): string => `session:${idHash}`;
const userKey = (userId: number): string => `user-sessions:${userId}`;

function parse(text: string | null): SessionRecord | null {
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as Omit<SessionRecord, 'authenticatedAt'> & { authenticatedAt?: unknown };
    if (typeof r.idHash !== 'string' || typeof r.userId !== 'number' || typeof r.authVersion !== 'number') return null;
    // A session stored before re-authentication existed was made by a password login: its
    // creation is its proof (as migration 012 does for the database store).
    return { ...r, authenticatedAt: typeof r.authenticatedAt === 'number' ? r.authenticatedAt : r.createdAt };
  } catch {
    return null;
  }
}

export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
    /** How long the per-user index may outlive its newest session. */
    private readonly maxLifetimeMs: number,
  ) {}

  private ttl(r: SessionRecord): number {
    return Math.max(1, Math.min(r.idleExpiresAt, r.absoluteExpiresAt) - this.now());
  }

  async create(r: SessionRecord): Promise<void> {
    await this.redis
      .multi()
      .set(sessionKey(r.idHash), JSON.stringify(r), 'PX', this.ttl(r))
      .sadd(userKey(r.userId), r.idHash)
      .pexpire(userKey(r.userId), this.maxLifetimeMs)
      .exec();
  }

  async get(idHash: string): Promise<SessionRecord | null> {
    return parse(await this.redis.get(sessionKey(idHash)));
  }

  async touch(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<void> {
    await this.update(idHash, { lastSeenAt, idleExpiresAt });
  }

  async reauthenticated(idHash: string, authenticatedAt: number): Promise<void> {
    await this.update(idHash, { authenticatedAt });
  }

  private async update(
    idHash: string,
    change: Partial<Pick<SessionRecord, 'lastSeenAt' | 'idleExpiresAt' | 'authenticatedAt'>>,
  ): Promise<void> {
    const current = await this.get(idHash);
    if (!current) return;
    const next: SessionRecord = { ...current, ...change };
    // XX: never resurrect a session deleted meanwhile (logout racing a page load).
    await this.redis.set(sessionKey(idHash), JSON.stringify(next), 'PX', this.ttl(next), 'XX');
  }

  async delete(idHash: string): Promise<void> {
    const current = await this.get(idHash);
    const tx = this.redis.multi().del(sessionKey(idHash));
    if (current) tx.srem(userKey(current.userId), idHash);
    await tx.exec();
  }

  async deleteAllForUser(userId: number): Promise<void> {
    const hashes = await this.redis.smembers(userKey(userId));
    await this.redis
      .multi()
      .del(userKey(userId), ...hashes.map(sessionKey))
      .exec();
  }

  async listForUser(userId: number): Promise<SessionRecord[]> {
    const hashes = await this.redis.smembers(userKey(userId));
    if (hashes.length === 0) return [];
    const values = await this.redis.mget(...hashes.map(sessionKey));
    const now = this.now();
    const live: SessionRecord[] = [];
    const gone: string[] = [];
    values.forEach((v, i) => {
      const r = parse(v);
      if (r && r.userId === userId && r.idleExpiresAt > now && r.absoluteExpiresAt > now) live.push(r);
      else if (!r) gone.push(hashes[i]!);
    });
    if (gone.length > 0) await this.redis.srem(userKey(userId), ...gone);
    return live.sort((a, b) => b.createdAt - a.createdAt);
  }
}
