import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { queueTelemetry } from '@sandbox/telemetry';
import { ZodError } from 'zod';
import { QUEUES, type JobData, type JobName, type QueueKind, parseJob } from './catalog';
import { redisOptions } from './connection';
import { type QueueSettings } from './queue-producer';

export type JobHandlers<K extends QueueKind> = {
  [N in JobName<K>]: (data: JobData<K, N>, job: Job, token: string | undefined) => Promise<unknown>;
};

/**
 * A BullMQ worker for one queue of the catalog: its knobs come from the catalog, every payload is
 * parsed before its handler runs, and a payload that can never be valid fails without retries.
 * Created by hand rather than with @Processor because a node queue's name is known only at runtime.
 */
export function createWorker<K extends QueueKind>(
  kind: K,
  name: string,
  handlers: JobHandlers<K>,
  settings: QueueSettings & { concurrency?: number; autorun?: boolean },
): Worker {
  const knobs = QUEUES[kind].worker;
  const worker = new Worker(
    name,
    async (job: Job, token?: string) => {
      const handler = (handlers as Record<string, (data: unknown, job: Job, token: string | undefined) => Promise<unknown>>)[job.name];
      if (!handler) throw new UnrecoverableError(`queue '${name}' has no handler for job '${job.name}'`);
      let data: unknown;
      try {
        data = parseJob(kind, job.name as JobName<K>, job.data);
      } catch (e) {
        throw new UnrecoverableError(e instanceof ZodError ? `invalid '${job.name}' payload: ${e.message}` : String(e));
      }
      return handler(data, job, token);
    },
    {
      connection: redisOptions(settings.redisUrl, 'worker'),
      prefix: settings.prefix,
      // the producer's trace context travels in the job: the handler's spans continue its trace
      telemetry: queueTelemetry(),
      ...knobs,
      concurrency: settings.concurrency ?? knobs.concurrency,
      autorun: settings.autorun ?? true,
    },
  );
  return worker;
}
