import { type JobsOptions, type WorkerOptions } from 'bullmq';
import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/**
 * Job payloads carry ids only: code, stdin and env vars stay in MariaDB (BullMQ keeps job data in
 * clear text and bull-board shows it).
 */
export const placeSessionJob = z.object({ session_id: id }).strict();
export const runExecutionJob = z.object({ execution_id: id, session_id: id, attempt: z.number().int().min(1) }).strict();
export const terminateSessionJob = z.object({ session_id: id }).strict();
export const cancelExecutionJob = z.object({ execution_id: id, session_id: id }).strict();
export const stopContextJob = z.object({ context_id: id, session_id: id }).strict();

export const deliverWebhookJob = z.object({ execution_id: id }).strict();

/** A periodic task of the reaper: the schedule carries no data, the task reads what it needs. */
export const reaperTickJob = z.object({}).strict();

type WorkerKnobs = Required<Pick<WorkerOptions, 'concurrency' | 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>>;

interface QueueSpec<Jobs extends Record<string, z.ZodType>> {
  readonly jobs: Jobs;
  readonly jobOptions: Required<Pick<JobsOptions, 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail'>>;
  readonly worker: WorkerKnobs;
}

// Every job here is a doorbell: its handler places a session or wakes the session's run loop, which
// claims executions with a conditional UPDATE. Delivering one twice, or retrying it, therefore never
// runs user code twice; re-running an execution after a lost agent is the reaper's alone
// (the attempt in MariaDB, not BullMQ's attempts, fences it).
const doorbell = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  // keep finished jobs long enough to inspect in bull-board, bounded so Redis memory stays flat
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;

/**
 * The typed queue catalog (STYLE.md): queue → job names → payload schema → job and worker options.
 * Producers and consumers both go through it, so a job without its schema does not compile.
 */
export const QUEUES = {
  /** Work any node may take: placing new sessions, and executions of sessions not bound yet. */
  shared: {
    jobs: { 'place-session': placeSessionJob, 'run-execution': runExecutionJob },
    jobOptions: doorbell,
    worker: {
      concurrency: 4,
      // handlers only place or route (milliseconds); 30 s leaves room for a slow cold start
      lockDuration: 30_000,
      stalledInterval: 30_000,
      // safe to redeliver a doorbell whose agent died (see above)
      maxStalledCount: 2,
    },
  },
  /** Work for one node: executions of the sessions it holds, their cancels, deleted contexts, and their termination. */
  node: {
    jobs: { 'run-execution': runExecutionJob, 'cancel-execution': cancelExecutionJob, 'stop-context': stopContextJob, 'terminate-session': terminateSessionJob },
    jobOptions: doorbell,
    worker: { concurrency: 16, lockDuration: 30_000, stalledInterval: 30_000, maxStalledCount: 2 },
  },
  /**
   * The reaper's periodic tasks, each a BullMQ job scheduler: however many reapers run, one of them
   * runs each tick. Every task is idempotent and batched, so a tick that fails is simply the next one.
   */
  reaper: {
    jobs: { recovery: reaperTickJob, 'session-expiry': reaperTickJob, 'workspace-retention': reaperTickJob, 'data-retention': reaperTickJob, 'webhook-outbox': reaperTickJob },
    jobOptions: {
      attempts: 1,
      backoff: { type: 'fixed', delay: 0 },
      removeOnComplete: { age: 3600, count: 100 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    },
    worker: {
      // one task at a time per reaper: they touch the same rows
      concurrency: 1,
      // a batch deletes at most a few hundred workspaces
      lockDuration: 120_000,
      stalledInterval: 30_000,
      // a tick lost with its reaper is not redone: the next tick does the same work
      maxStalledCount: 0,
    },
  },
  /**
   * Result webhooks of ended executions, delivered by the control planes. Unlike a doorbell, a job here
   * is the work itself and BullMQ its one retry owner: 14 attempts, 1 s doubling (the last about 2.3 h
   * after the first); a delivery that already succeeded is never sent again (webhook_state in MariaDB).
   */
  webhooks: {
    jobs: { 'deliver-webhook': deliverWebhookJob },
    jobOptions: {
      attempts: 14,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
    // a delivery waits on a receiver for WEBHOOK_TIMEOUT_MS at most
    worker: { concurrency: 32, lockDuration: 60_000, stalledInterval: 30_000, maxStalledCount: 2 },
  },
} as const satisfies Record<string, QueueSpec<Record<string, z.ZodType>>>;

export type QueueKind = keyof typeof QUEUES;
export type JobName<K extends QueueKind> = keyof (typeof QUEUES)[K]['jobs'] & string;
export type JobData<K extends QueueKind, N extends JobName<K>> = z.infer<(typeof QUEUES)[K]['jobs'][N]>;

export const SHARED_QUEUE = 'sandbox-shared';
export const REAPER_QUEUE = 'sandbox-reaper';
export const WEBHOOKS_QUEUE = 'sandbox-webhooks';
/** Custom events (execution finished) that `?wait=true` listens to through QueueEvents. */
export const EVENTS_QUEUE = 'sandbox-events';

export function nodeQueueName(nodeId: string): string {
  return `sandbox-node-${nodeId}`;
}

export function queueName(kind: QueueKind, nodeId?: string): string {
  if (kind === 'shared') return SHARED_QUEUE;
  if (kind === 'reaper') return REAPER_QUEUE;
  if (kind === 'webhooks') return WEBHOOKS_QUEUE;
  if (!nodeId) throw new Error('a node queue needs the node id');
  return nodeQueueName(nodeId);
}

export function parseJob<K extends QueueKind, N extends JobName<K>>(kind: K, name: N, data: unknown): JobData<K, N> {
  const schema = (QUEUES[kind].jobs as Record<string, z.ZodType>)[name];
  if (!schema) throw new UnknownJobError(kind, name);
  return schema.parse(data) as JobData<K, N>;
}

export class UnknownJobError extends Error {
  constructor(kind: string, name: string) {
    super(`queue '${kind}' has no job '${name}'`);
    this.name = 'UnknownJobError';
  }
}
