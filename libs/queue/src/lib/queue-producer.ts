import { Queue } from 'bullmq';
import { QUEUES, type JobData, type JobName, type QueueKind, parseJob, queueName } from './catalog';
import { redisOptions } from './connection';

export interface QueueSettings {
  readonly redisUrl: string;
  readonly prefix: string;
}

/**
 * Adds catalog jobs to the shared queue or to a node's queue. The connection fails fast: when Redis
 * is down `add` rejects within seconds instead of queueing commands in memory.
 */
export class QueueProducer {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly settings: QueueSettings) {}

  async add<K extends QueueKind, N extends JobName<K>>(
    kind: K,
    name: N,
    data: JobData<K, N>,
    opts: { jobId: string; nodeId?: string },
  ): Promise<void> {
    const payload = parseJob(kind, name, data);
    // add() not addBulk(): job id deduplication only works per add
    await this.queue(queueName(kind, opts.nodeId)).add(name, payload, { ...QUEUES[kind].jobOptions, jobId: opts.jobId });
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
      q = new Queue(name, { connection: redisOptions(this.settings.redisUrl, 'producer'), prefix: this.settings.prefix });
      // connection errors surface on the add() that needs Redis; the listener keeps them from crashing the process
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  /** Rejects unless Redis answers PING within the time (readiness probe). */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const client = await this.queue(queueName('shared')).getBackend().client;
      await Promise.race([
        client.runCommand('ping', []),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
