import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { deriveKeys } from './derive-keys.js';

// Two deployments sharing one Redis database under one key prefix (staging beside production,
// two apps on one managed Redis) would share more than they should. The per-user session sets
// (`user-sessions:<id>`) would list the sessions of both deployments' user 5: one's session
// page would show the other's addresses and browsers, and one's "sign out everywhere" would end
// the other's sessions. And each would count the other's requests against the rate limits.
//
// So a deployment marks its namespace with fingerprints of its keys (derived from SECRET_KEY
// and its fallbacks for this purpose only: they reveal nothing and sign nothing), and a process
// whose keys share none of them refuses to start, naming REDIS_PREFIX. A key rotation keeps
// the namespace: the new key is added to the mark while the old one is still listed in
// SECRET_KEY_FALLBACKS, so old and new instances of a rolling deploy both start.

const MARK = 'deployment-keys';

// Check and add in one step (a Lua script runs atomically): two deployments starting at the same
// moment cannot both find the namespace free. Redis's EVAL of this constant script: the key and
// the fingerprints are passed as KEYS and ARGV, never spliced into the script.
const CLAIM = `
if redis.call('exists', KEYS[1]) == 1 then
  local shared = false
  for i = 1, #ARGV do
    if redis.call('sismember', KEYS[1], ARGV[i]) == 1 then shared = true break end
  end
  if not shared then return 0 end
end
redis.call('sadd', KEYS[1], unpack(ARGV))
return 1`;

/** Thrown at start when the Redis namespace belongs to another deployment. */
export class RedisNamespaceTaken extends Error {
  constructor(prefix: string) {
    super(
      `bastion.E017: Redis keys under the prefix "${prefix}" belong to another deployment (one with a different SECRET_KEY): ` +
        "sharing them would mix the two deployments' sessions and rate limits. " +
        'Give this deployment its own REDIS_PREFIX, or its own Redis database (redis://host:6379/1). ' +
        `If this is the same deployment with its SECRET_KEY replaced outright (a leaked key, no fallback), delete the Redis key "${prefix}${MARK}" once.`,
    );
    this.name = 'RedisNamespaceTaken';
  }
}

/** The fingerprints this process marks its namespace with: one per key, current first. */
export const namespaceFingerprints = (config: Config): string[] =>
  deriveKeys(config, 'redis-namespace').map((key) => key.toString('hex').slice(0, 32));

/** Marks the namespace (the client's key prefix) as this deployment's; throws RedisNamespaceTaken when another holds it. */
export async function claimRedisNamespace(redis: Redis, config: Config, prefix: string): Promise<void> {
  const claimed = await redis.eval(CLAIM, 1, MARK, ...namespaceFingerprints(config));
  if (claimed !== 1) throw new RedisNamespaceTaken(prefix);
}
