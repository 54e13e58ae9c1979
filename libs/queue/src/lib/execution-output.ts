import { Redis } from 'ioredis';
import { closeRedis, redisOptions } from './connection';
import { type QueueSettings } from './queue-producer';
import { WakeUps } from './wake-ups';

/**
 * The output of running executions, on its way from the agent that runs one to the control planes
 * whose clients follow it (`GET /v1/executions/:id/events`): a Redis stream per execution, whose
 * entry ids are the events' ids, so a client that reconnects anywhere resumes after the last one it
 * got. The stored result stays the record: the stream is a view of it while it is made, bounded in
 * length and life, and lost output (Redis down or restarted) costs a follower pieces, never the result.
 */
export type OutputKind = 'stdout' | 'stderr' | 'attempt';

export interface OutputEntry {
  /** The Redis stream id ("<ms>-<seq>"): in order, unique, the SSE event id. */
  readonly id: string;
  readonly kind: OutputKind;
  /** Text (utf8), base64 (encoding base64), or the attempt number as text (kind attempt). */
  readonly data: string;
}

// an entry is one executor piece (up to 32 KiB) or less; a run's pieces are bounded by its output cap
const MAX_ENTRIES = 100_000;
// followers resume within this after a run's last piece; later ones get the stored result only
const KEEP_MS = 3_600_000;
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

export const isOutputEntryId = (id: string): boolean => ENTRY_ID.test(id);

const keyOf = (prefix: string, executionId: string) => `${prefix}:output:${executionId}`;
const channelOf = (prefix: string) => `${prefix}:output-appended`;

/** One attempt's output as the agent appends it, in order; `end` waits (bounded) for every piece to be in Redis. */
export interface OutputAppender {
  append(kind: 'stdout' | 'stderr', data: string): void;
  /** Resolves once every piece is stored or failed, or after `timeoutMs`: never holds the result. */
  end(timeoutMs: number): Promise<void>;
}

/** The agents' side: appends pieces, and tells the control planes something was appended. */
export class ExecutionOutputPublisher {
  private redis: Redis | null = null;
  private failures = 0;

  constructor(private readonly settings: QueueSettings) {}

  /** Pieces not stored (Redis down, slow): they are missing from the streams, never from the results. */
  get failed(): number {
    return this.failures;
  }

  /** Starts an attempt's output: followers hear the attempt first, and drop what an earlier one said. */
  attempt(executionId: string, attempt: number): OutputAppender {
    let last: Promise<unknown> = this.add(executionId, 'attempt', String(attempt));
    return {
      append: (kind, data) => {
        if (data) last = this.add(executionId, kind, data);
      },
      end: async (timeoutMs) => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([last, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
      },
    };
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
    this.redis = null;
  }

  private async add(executionId: string, kind: OutputKind, data: string): Promise<void> {
    const key = keyOf(this.settings.prefix, executionId);
    const redis = this.connected();
    try {
      // fail-fast connection: commands sent before it is ready would fail; waiters resume in order
      if (redis.status !== 'ready') await ready(redis);
      // one connection, pipelined in order: the pieces land in the order they were appended
      await redis
        .multi()
        .xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 'k', kind, 'd', data)
        .pexpire(key, KEEP_MS)
        .publish(channelOf(this.settings.prefix), executionId)
        .exec();
    } catch {
      this.failures++;
    }
  }

  // connected on first use: a process that never streams holds no connection
  private connected(): Redis {
    this.redis ??= new Redis(redisOptions(this.settings.redisUrl, 'producer')).on('error', () => undefined);
    return this.redis;
  }
}

/**
 * The control planes' side: reads an execution's pieces after a given entry, and wakes whoever
 * follows an execution when its agent appended some (one subscription per process). A missed wake-up
 * costs a follower its poll interval, never a piece: the pieces are read from the stream.
 */
export class ExecutionOutputFeed {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly wakeUps = new WakeUps();

  constructor(private readonly settings: QueueSettings) {
    this.redis = new Redis(redisOptions(settings.redisUrl, 'producer')).on('error', () => undefined);
    this.subscriber = new Redis(redisOptions(settings.redisUrl, 'worker')).on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, executionId: string) => this.wakeUps.wake(executionId));
  }

  /** Subscribes (ioredis subscribes again by itself after a reconnect). */
  async start(): Promise<void> {
    await this.subscriber.subscribe(channelOf(this.settings.prefix));
  }

  /** Up to `count` entries after entry `after` (from the first with null). */
  async read(executionId: string, after: string | null, count: number): Promise<OutputEntry[]> {
    const rows = await this.redis.xrange(keyOf(this.settings.prefix, executionId), after ? `(${after}` : '-', '+', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      return { id, kind: f.get('k') as OutputKind, data: f.get('d') ?? '' };
    });
  }

  /** Resolves when the execution's agent appends next; `cancel` stops listening. */
  appended(executionId: string): { promise: Promise<void>; cancel(): void } {
    return this.wakeUps.next(executionId);
  }

  async close(): Promise<void> {
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.redis)]);
  }
}

const READY_TIMEOUT_MS = 5000;

function ready(redis: Redis): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error('Redis not ready'));
    }, READY_TIMEOUT_MS);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
