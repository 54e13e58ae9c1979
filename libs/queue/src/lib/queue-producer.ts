import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { queueTelemetry } from '@sandbox/telemetry';
import { QUEUES, type JobData, type JobName, type QueueKind, nodeQueueName, parseJob, queueName } from './catalog';
import { redisOptions } from './connection';

// the longest an add may take, whatever Redis does (down, hung, failing over): the API answers 503
const ADD_TIMEOUT_MS = 6000;

export interface QueueSettings {
  readonly redisUrl: string;
  readonly prefix: string;
}

/**
 * Adds catalog jobs to the shared queue or to a node's queue. Every queue shares one connection,
 * opened once: a node's queue first used while Redis hangs would otherwise wait forever on its new
 * connection's ready check. The connection fails fast: when Redis is down or hung `add` rejects within
 * seconds instead of queueing commands in memory.
 */
export class QueueProducer {
  private readonly queues = new Map<string, Queue>();
  private readonly connection: Redis;

  constructor(private readonly settings: QueueSettings) {
    this.connection = new Redis(redisOptions(settings.redisUrl, 'producer'));
    // errors surface on the command that needs Redis; the listener keeps them from crashing the process
    this.connection.on('error', () => undefined);
  }

  async add<K extends QueueKind, N extends JobName<K>>(
    kind: K,
    name: N,
    data: JobData<K, N>,
    opts: { jobId: string; nodeId?: string },
  ): Promise<void> {
    const payload = parseJob(kind, name, data);
    const target = queueName(kind, opts.nodeId);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // add() not addBulk(): job id deduplication only works per add
        this.queue(target).add(name, payload, { ...QUEUES[kind].jobOptions, jobId: opts.jobId }),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`Redis did not take the job within ${ADD_TIMEOUT_MS} ms`)), ADD_TIMEOUT_MS))),
      ]);
    } catch (e) {
      // BullMQ keeps a queue's failed start-up (e.g. while Redis hung) for good: start afresh next time
      this.forget(target);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Publishes on a channel of this deployment (its prefix first): how many subscribers heard it. */
  publish(channel: string, message: string): Promise<number> {
    return this.connection.publish(`${this.settings.prefix}:${channel}`, message);
  }

  /**
   * Rings a doorbell again: nothing when one is still waiting or being handled, else the job is
   * (re)added under its deterministic id, replacing a finished one that would otherwise swallow the
   * add (BullMQ deduplicates against kept jobs). So a stuck execution gets one live doorbell, never a
   * pile of them while no agent runs. Returns whether a job was added.
   */
  async ring<K extends QueueKind, N extends JobName<K>>(kind: K, name: N, data: JobData<K, N>, opts: { jobId: string; nodeId?: string }): Promise<boolean> {
    const queue = this.queue(queueName(kind, opts.nodeId));
    const existing = await queue.getJob(opts.jobId);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
      await existing.remove();
    }
    await this.add(kind, name, data, opts);
    return true;
  }

  /**
   * Runs `name` every `everyMs` through a BullMQ job scheduler: idempotent, so every replica may call
   * it at start, and one job per tick is made however many do.
   */
  async schedule<K extends QueueKind, N extends JobName<K>>(kind: K, name: N, everyMs: number): Promise<void> {
    await this.queue(queueName(kind)).upsertJobScheduler(name, { every: everyMs }, { name, data: {}, opts: QUEUES[kind].jobOptions });
  }

  /** The BullMQ queue of that name (created on first use), e.g. for bull-board or counts. */
  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.settings.prefix, telemetry: queueTelemetry() });
      // the shared connection's errors surface on the command that needed Redis
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  /** Ids of the nodes that have a queue in Redis (SCAN, a page at a time: never blocks Redis). */
  async nodeQueueIds(): Promise<string[]> {
    const head = `${this.settings.prefix}:${nodeQueueName('')}`;
    const tail = ':meta';
    const ids = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = (await this.command('scan', [cursor, 'MATCH', `${head}*${tail}`, 'COUNT', 1000])) as [string, string[]];
      for (const key of keys) ids.add(key.slice(head.length, -tail.length));
      cursor = next;
    } while (cursor !== '0');
    return [...ids];
  }

  /**
   * Deletes a dead node's queue and every job in it, unless a worker is still connected to it (the
   * node is back); true when it is gone. Its doorbells are not lost work: the reaper rings every
   * execution whose doorbell is missing again.
   */
  async obliterateNodeQueue(nodeId: string): Promise<boolean> {
    const name = nodeQueueName(nodeId);
    try {
      const queue = this.queue(name);
      if ((await queue.getWorkersCount()) > 0) return false;
      // force: jobs the dead worker held as active go too
      await queue.obliterate({ force: true });
      return true;
    } finally {
      this.forget(name);
    }
  }

  private forget(name: string): void {
    const q = this.queues.get(name);
    this.queues.delete(name);
    // a queue that failed to start may fail to close too: it is dropped either way
    void q?.close().catch(() => undefined);
  }

  /** One plain Redis command on the producer's connection (small state next to the queues). */
  async command(name: string, args: (string | number)[]): Promise<unknown> {
    const client = await this.queue(queueName('shared')).getBackend().client;
    return client.runCommand(name, args);
  }

  /** Rejects unless Redis answers PING within the time (readiness probe). */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.command('ping', []),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    this.connection.disconnect();
  }
}
