import { type RedisOptions } from 'bullmq';
import { type Redis } from 'ioredis';

/**
 * Redis options for one role (BullMQ "going to production"): workers and event listeners wait for
 * Redis forever (`maxRetriesPerRequest: null`); producers in the API fail fast instead of hanging a
 * request (`enableOfflineQueue: false`). Keepalive and a socket timeout notice a Redis that stops
 * answering without closing the connection.
 */
export function redisOptions(url: string, role: 'producer' | 'worker'): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    connectTimeout: 5000,
    keepAlive: 5000,
    retryStrategy: (times: number) => Math.min(times * 200, 5000),
    ...(role === 'producer' ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5000 } : { maxRetriesPerRequest: null }),
  };
}

/** Quits, or drops a connection that cannot quit (Redis unreachable: it would retry forever). */
export async function closeRedis(redis: Redis | null): Promise<void> {
  await redis?.quit().catch(() => redis.disconnect());
}
