import { execFileSync } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import Redis from 'ioredis';
import { stackEnv } from './lib/stack';

/** Fails the whole run, loudly, when a service the suites need does not answer. */
export default async function globalSetup(): Promise<void> {
  const env = stackEnv();
  const problems: string[] = [];
  const db = new URL(env.DATABASE_URL);
  try {
    const conn = await createConnection({
      host: db.hostname,
      port: Number(db.port),
      user: decodeURIComponent(db.username),
      password: decodeURIComponent(db.password),
      connectTimeout: 3000,
    });
    await conn.end();
  } catch (e) {
    problems.push(`MariaDB at ${db.host}: ${(e as Error).message}`);
  }
  const redis = new Redis(env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    problems.push(`Redis at ${env.REDIS_URL}: ${(e as Error).message}`);
  } finally {
    redis.disconnect();
  }
  try {
    // any HTTP answer will do: s3rver refuses the anonymous request, but it answers
    await fetch(env.S3_ENDPOINT, { signal: AbortSignal.timeout(3000) });
  } catch (e) {
    problems.push(`S3 at ${env.S3_ENDPOINT}: ${(e as Error).message}`);
  }
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    problems.push(`Docker engine: ${(e as Error).message.split('\n')[0]}`);
  }
  if (problems.length) {
    throw new Error(`services the tests need are down (run 'bash tools/stack-up.sh'):\n  ${problems.join('\n  ')}`);
  }
}
