import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { stackEnv } from './stack';

/** A BullMQ key prefix of its own per suite, and the cleanup of every key under it. */
export function testQueuePrefix(label: string): string {
  return `t-${label.replace(/[^a-z0-9]/gi, '').slice(0, 12)}-${randomBytes(3).toString('hex')}`;
}

export async function deleteQueueKeys(prefix: string, redisUrl = stackEnv().REDIS_URL): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
