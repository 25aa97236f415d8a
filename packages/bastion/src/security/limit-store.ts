import type { FastifyBaseLogger } from 'fastify';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../http/app-error.js';
import type { Runtime } from '../runtime.js';

// One counter family ("5 per minute per IP") over rate-limiter-flexible: in-process memory by
// default, Redis when REDIS_URL is set, so every instance shares the counts. Any store failure
// fails closed: the caller gets 503, never an unlimited request.

export interface LimitRule {
  /** Part of the store key; unique per counter family. */
  readonly name: string;
  readonly points: number;
  /** Window in seconds (fixed window, starting at the first hit). */
  readonly duration: number;
}

export interface Count {
  readonly count: number;
  /** Milliseconds until the window (or block) ends; 0 when nothing is stored. */
  readonly msLeft: number;
}

const EMPTY: Count = { count: 0, msLeft: 0 };

export class Limit {
  constructor(
    readonly rule: LimitRule,
    private readonly limiter: RateLimiterAbstract,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Adds one and returns the count now (the library's refusal is just a count above points). */
  async hit(key: string): Promise<Count> {
    try {
      return toCount(await this.limiter.consume(key));
    } catch (err) {
      if (err instanceof RateLimiterRes) return toCount(err);
      throw this.unavailable(err);
    }
  }

  /**
   * Adds one; while the shared store is unreachable, counts in `local` (this process) instead.
   * Only for requests that may be served without the store at all: see rate-limits.ts.
   */
  async hitOrCountLocally(key: string, local: Limit): Promise<Count> {
    try {
      return toCount(await this.limiter.consume(key));
    } catch (err) {
      if (err instanceof RateLimiterRes) return toCount(err);
      this.log.warn(
        { limit: this.rule.name, reason: err instanceof Error ? err.message : String(err) },
        'rate-limit store unavailable: counting in this process',
      );
      return local.hit(key);
    }
  }

  /** The count without changing it. */
  async peek(key: string): Promise<Count> {
    try {
      const res = await this.limiter.get(key);
      if (!res) return EMPTY;
      // A memory record whose time is up but whose timer has not fired yet counts as gone.
      return res.msBeforeNext > 0 ? toCount(res) : EMPTY;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /**
   * Takes one hit back, atomically (an attempt counted first that turned out not to count). A
   * window that ended in between is removed rather than left below zero with a fresh expiry.
   */
  async refund(key: string): Promise<void> {
    try {
      const res = await this.limiter.reward(key);
      if (res.consumedPoints < 0) await this.limiter.delete(key);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** Sets the count above the limit for `seconds`: refused until then, whatever the window. */
  async block(key: string, seconds: number): Promise<void> {
    try {
      await this.limiter.block(key, seconds);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async clear(key: string): Promise<void> {
    try {
      await this.limiter.delete(key);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): AppError {
    this.log.error({ err, limit: this.rule.name }, 'rate-limit store unavailable: refusing the request (fail closed)');
    return new AppError('UNAVAILABLE');
  }
}

const toCount = (res: RateLimiterRes): Count => ({ count: res.consumedPoints, msLeft: Math.max(0, res.msBeforeNext) });

/** Builds limits on the runtime's store. */
export function limitFactory(runtime: Runtime, log: FastifyBaseLogger): (rule: LimitRule) => Limit {
  return (rule) => {
    const opts = { keyPrefix: `rl:${rule.name}`, points: rule.points, duration: rule.duration };
    const limiter = runtime.redis
      ? new RateLimiterRedis({
          ...opts,
          // ioredis (not node-redis); the client already adds the deployment's key prefix.
          storeClient: runtime.redis,
          useRedisPackage: false,
          // With enableOfflineQueue off, refuse at once while Redis is away instead of waiting.
          rejectIfRedisNotReady: true,
        })
      : new RateLimiterMemory(opts);
    return new Limit(rule, limiter, log);
  };
}

/** A limit counted in this process only, whatever the runtime's store. */
export function localLimit(rule: LimitRule, log: FastifyBaseLogger): Limit {
  return new Limit(rule, new RateLimiterMemory({ keyPrefix: `rl:${rule.name}`, points: rule.points, duration: rule.duration }), log);
}

/** Seconds for a Retry-After header: whole seconds, at least 1. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export function rateLimited(ms: number): AppError {
  return new AppError('RATE_LIMITED', undefined, undefined, { 'Retry-After': String(retryAfterSeconds(ms)) });
}
