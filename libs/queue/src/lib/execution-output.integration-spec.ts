import { Redis } from 'ioredis';
import { deleteQueueKeys, stackEnv, testQueuePrefix } from '@sandbox/testing';
import { ExecutionOutputFeed, ExecutionOutputPublisher, isOutputEntryId } from './execution-output';

describe('execution output on real Redis', () => {
  const prefix = testQueuePrefix('output');
  const settings = { redisUrl: stackEnv().REDIS_URL, prefix };
  const publisher = new ExecutionOutputPublisher(settings);
  const feed = new ExecutionOutputFeed(settings);

  beforeAll(() => feed.start());

  afterAll(async () => {
    await Promise.all([publisher.close(), feed.close()]);
    await deleteQueueKeys(prefix);
  });

  it('carries an attempt and its pieces in order, wakes the follower, and resumes after any entry without repeating one', async () => {
    const woken = feed.appended('exec_a');
    const out = publisher.attempt('exec_a', 1);
    await woken.promise;
    woken.cancel();
    for (let i = 0; i < 20; i++) out.append(i % 2 ? 'stderr' : 'stdout', `line ${i}\n`);
    out.append('stdout', '');
    await out.end(5000);
    const all = await feed.read('exec_a', null, 100);
    expect(all.map((e) => [e.kind, e.data])).toEqual([['attempt', '1'], ...Array.from({ length: 20 }, (_, i) => [i % 2 ? 'stderr' : 'stdout', `line ${i}\n`])]);
    expect(all.every((e) => isOutputEntryId(e.id))).toBe(true);
    expect(await feed.read('exec_a', all[7]!.id, 100)).toEqual(all.slice(8));
    expect(await feed.read('exec_a', all[7]!.id, 3)).toEqual(all.slice(8, 11));
    expect(await feed.read('exec_a', all.at(-1)!.id, 100)).toEqual([]);
    expect(await feed.read('exec_unknown', null, 100)).toEqual([]);
    expect(publisher.failed).toBe(0);
  });

  it('keeps an execution\'s pieces for a bounded time', async () => {
    publisher.attempt('exec_b', 2).append('stdout', 'x');
    const redis = new Redis(settings.redisUrl);
    try {
      const ttl = await redis.pttl(`${prefix}:output:exec_b`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    } finally {
      redis.disconnect();
    }
  });

  it('gives up on pieces it cannot store without holding the result (Redis unreachable)', async () => {
    const nowhere = new ExecutionOutputPublisher({ redisUrl: 'redis://127.0.0.1:1', prefix });
    const out = nowhere.attempt('exec_c', 1);
    out.append('stdout', 'lost');
    const t0 = Date.now();
    await out.end(500);
    // the end waits no longer than asked, whatever Redis does
    expect(Date.now() - t0).toBeLessThan(5000);
    for (let i = 0; i < 100 && nowhere.failed < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(nowhere.failed).toBe(2);
    await nowhere.close();
  });
});
