import { once } from 'node:events';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { redisOptions } from './connection';
import { type QueueSettings } from './queue-producer';

/** One request counted: whether it is within the limit, what is left, and when the window ends. */
export interface RateLimitState {
  readonly allowed: boolean;
  readonly remaining: number;
  readonly msBeforeReset: number;
}

export interface RateLimit {
  readonly points: number;
  readonly windowSeconds: number;
  /** Longest a count may take: a hung Redis must not hold the request. */
  readonly timeoutMs: number;
}

/**
 * Requests per key and window, counted in Redis (rate-limiter-flexible) under the queue prefix, so
 * every control plane shares the count. Its own fail-fast connection: a count never waits behind jobs.
 */
export class RateLimitStore {
  private readonly redis: Redis;
  private readonly limiter: RLWrapperTimeouts;

  constructor(settings: QueueSettings, limit: RateLimit) {
    this.redis = new Redis(redisOptions(settings.redisUrl, 'producer'));
    // errors surface on the count that needs Redis; the listener keeps them from crashing the process
    this.redis.on('error', () => undefined);
    this.limiter = new RLWrapperTimeouts({
      timeoutMs: limit.timeoutMs,
      limiter: new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${settings.prefix}:ratelimit`,
        points: limit.points,
        duration: limit.windowSeconds,
        rejectIfRedisNotReady: true,
      }),
    });
  }

  /** Resolves once the connection is up; until then every count rejects (a store never waits for Redis). */
  async ready(): Promise<void> {
    if (this.redis.status !== 'ready') await once(this.redis, 'ready');
  }

  /** Counts one request of `key`; rejects when Redis does not answer in time (the caller decides what then). */
  async consume(key: string): Promise<RateLimitState> {
    try {
      return stateOf(await this.limiter.consume(key), true);
    } catch (e) {
      if (e instanceof RateLimiterRes) return stateOf(e, false);
      throw e;
    }
  }

  close(): void {
    this.redis.disconnect();
  }
}

function stateOf(r: RateLimiterRes, allowed: boolean): RateLimitState {
  return { allowed, remaining: Math.max(0, r.remainingPoints), msBeforeReset: r.msBeforeNext };
}
