import { queueTelemetry } from '@sandbox/telemetry';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import { ZodError } from 'zod';
import { QUEUES, type JobData, type JobName, type QueueKind, parseJob, queueName } from './catalog';
import { redisOptions } from './connection';
import { type QueueSettings } from './queue-producer';

/** What a handler may know and do about the job it handles, beyond its parsed payload. */
export interface JobContext {
  readonly id: string;
  /** Seconds the job waited in its queue before this worker took it. */
  readonly waitedSeconds: number;
  /** This try of the job, from 1; `lastAttempt`: BullMQ retries it no more if it fails. */
  readonly attempt: number;
  readonly lastAttempt: boolean;
  /** Puts the job back for `delayMs`, for any worker to take then (a full node); ends the handler. */
  handBack(delayMs: number): Promise<never>;
}

/** Thrown by a handler whose job can never succeed: it fails now, without the retries left. */
export class HopelessJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HopelessJobError';
  }
}

export type JobHandlers<K extends QueueKind> = {
  [N in JobName<K>]: (data: JobData<K, N>, job: JobContext) => Promise<unknown>;
};

export interface WorkerOptions {
  /** The node of a node queue. */
  readonly nodeId?: string;
  /** Jobs handled at once; the catalog's by default. */
  readonly concurrency?: number;
  /** A job was taken after waiting this long in its queue (seconds). */
  readonly onTaken?: (waitedSeconds: number) => void;
  /** A handler failed; the catalog's attempts and backoff decide what happens to the job. */
  readonly onFailed?: (jobName: string, error: Error) => void;
  /** The worker's connection failed; it reconnects by itself. */
  readonly onError?: (error: Error) => void;
}

/**
 * A BullMQ worker on one queue of the catalog: its knobs come from the catalog, every payload is
 * parsed before its handler runs, and a payload that can never be valid fails without retries.
 * Made by hand rather than with @Processor because a node queue's name is known only at runtime.
 */
export class QueueWorker {
  private readonly worker: Worker;

  private constructor(kind: QueueKind, handlers: JobHandlers<QueueKind>, settings: QueueSettings, options: WorkerOptions = {}) {
    const name = queueName(kind, options.nodeId);
    const knobs = QUEUES[kind].worker;
    const byName = handlers as Record<string, (data: unknown, job: JobContext) => Promise<unknown>>;
    this.worker = new Worker(
      name,
      async (job: Job, token?: string) => {
        const handler = byName[job.name];
        if (!handler) throw new UnrecoverableError(`queue '${name}' has no handler for job '${job.name}'`);
        let data: unknown;
        try {
          data = parseJob(kind, job.name as JobName<QueueKind>, job.data);
        } catch (e) {
          throw new UnrecoverableError(e instanceof ZodError ? `invalid '${job.name}' payload: ${e.message}` : String(e));
        }
        const waitedSeconds = Math.max(0, ((job.processedOn ?? Date.now()) - job.timestamp) / 1000);
        options.onTaken?.(waitedSeconds);
        try {
          return await handler(data, {
            id: job.id ?? '',
            waitedSeconds,
            attempt: job.attemptsMade + 1,
            lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
            handBack: async (delayMs) => {
              await job.moveToDelayed(Date.now() + delayMs, token);
              // tells BullMQ the job moved on by itself: neither completed nor failed
              throw new DelayedError();
            },
          });
        } catch (e) {
          throw e instanceof HopelessJobError ? new UnrecoverableError(e.message) : e;
        }
      },
      {
        connection: redisOptions(settings.redisUrl, 'worker'),
        prefix: settings.prefix,
        // the producer's trace context travels in the job: the handler's spans continue its trace
        telemetry: queueTelemetry(),
        ...knobs,
        concurrency: options.concurrency ?? knobs.concurrency,
      },
    );
    this.worker.on('error', (e) => options.onError?.(e));
    this.worker.on('failed', (job, e) => options.onFailed?.(job?.name ?? 'unknown', e));
  }

  static start<K extends QueueKind>(kind: K, handlers: JobHandlers<K>, settings: QueueSettings, options?: WorkerOptions): QueueWorker {
    return new QueueWorker(kind, handlers as unknown as JobHandlers<QueueKind>, settings, options);
  }

  get name(): string {
    return this.worker.name;
  }

  /** Stops taking jobs; waits for the handlers in flight. */
  close(): Promise<void> {
    return this.worker.close();
  }
}
