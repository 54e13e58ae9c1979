import { Inject, Injectable } from '@nestjs/common';
import { ExecutionRepository, SessionRepository, type WaitingExecution } from '@sandbox/persistence';
import { createWorker, executionJobId, nodeQueueName, QueueProducer, type QueueSettings, type RunExecutionJob, SHARED_QUEUE } from '@sandbox/queue';
import { DelayedError, type Job, type Worker } from 'bullmq';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent-config';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
import { AgentMetrics } from '../metrics/agent-metrics';
import { SessionHostService } from '../sessions/session-host.service';

// a full node hands placement back to the shared queue for this long, for another node to take
const FULL_NODE_DELAY_MS = 2000;

/**
 * The agent's two BullMQ workers: the shared queue (placement, executions of unplaced sessions)
 * and this node's own queue (executions and termination of the sessions it holds). Thin: each job
 * calls one service method.
 */
@Injectable()
export class QueueConsumersService {
  private shared: Worker | null = null;
  private own: Worker | null = null;
  private readonly settings: QueueSettings;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly host: SessionHostService,
    private readonly runner: ExecutionRunnerService,
    private readonly executions: ExecutionRepository,
    private readonly sessions: SessionRepository,
    private readonly producer: QueueProducer,
    private readonly metrics: AgentMetrics,
    @InjectPinoLogger(QueueConsumersService.name) private readonly log: PinoLogger,
  ) {
    this.settings = { redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX };
  }

  start(): void {
    this.startShared();
    const own = createWorker(
      'node',
      nodeQueueName(this.config.NODE_ID),
      {
        'run-execution': (data) => this.route(data),
        'terminate-session': async ({ session_id }) => {
          const session = await this.sessions.findById(session_id);
          const why = session?.status === 'timeout' ? `the session timed out: ${session.error ?? 'idle'}` : 'the session was terminated';
          this.runner.cancel(session_id, why);
          await this.runner.settle(session_id);
          await this.host.release(session_id);
        },
      },
      { ...this.settings, concurrency: Math.max(this.config.AGENT_CAPACITY * 4, 16) },
    );
    own.on('error', (e) => this.log.error({ err: e, queue: own.name }, 'queue worker error'));
    own.on('active', (job) => this.metrics.queueWait.observe({ queue: 'node' }, waitOf(job)));
    this.own = own;
  }

  /** Takes work any node may take (placements, executions of unplaced sessions) again. */
  startShared(): void {
    if (this.shared) return;
    const shared = createWorker(
      'shared',
      SHARED_QUEUE,
      {
        'place-session': async ({ session_id }, job, token) => {
          if (this.host.full) return this.handBack(job, token);
          if ((await this.host.place(session_id)).kind === 'here') this.runner.kick(session_id);
        },
        'run-execution': async (data, job, token) => {
          if (this.host.full) return this.handBack(job, token);
          return this.route(data);
        },
      },
      this.settings,
    );
    shared.on('error', (e) => this.log.error({ err: e, queue: shared.name }, 'queue worker error'));
    shared.on('active', (job) => this.metrics.queueWait.observe({ queue: 'shared' }, waitOf(job)));
    this.shared = shared;
  }

  /** Stops taking new sessions (a draining node); its own queue still serves the sessions it holds. */
  async stopShared(): Promise<void> {
    const shared = this.shared;
    this.shared = null;
    await shared?.close();
  }

  /** Stops taking jobs; waits for the handlers in flight (they only place or route). */
  async stop(): Promise<void> {
    const workers = [this.shared, this.own];
    this.shared = null;
    this.own = null;
    await Promise.allSettled(workers.map((w) => w?.close()));
  }

  /** Rings the doorbell of a session's oldest pending execution on the shared queue (it moves elsewhere). */
  async ringShared(waiting: readonly WaitingExecution[]): Promise<void> {
    for (const w of waiting) {
      await this.producer.ring('shared', 'run-execution', { execution_id: w.id, session_id: w.sessionId, attempt: w.attempt }, { jobId: executionJobId(w.id, w.attempt) });
    }
  }

  private async route(data: RunExecutionJob): Promise<string> {
    const placement = await this.host.place(data.session_id);
    switch (placement.kind) {
      case 'here':
        this.runner.kick(data.session_id);
        return 'kicked';
      case 'elsewhere':
        await this.producer.add('node', 'run-execution', data, {
          nodeId: placement.node,
          jobId: executionJobId(data.execution_id, data.attempt),
        });
        return `forwarded to ${placement.node}`;
      case 'ended':
        await this.executions.failPending(data.session_id, 'the session ended before the execution started');
        return 'session ended';
    }
  }

  private async handBack(job: Job, token: string | undefined): Promise<never> {
    await job.moveToDelayed(Date.now() + FULL_NODE_DELAY_MS, token);
    throw new DelayedError();
  }
}

/** Seconds a job waited in its queue (BullMQ stamps both times in ms). */
function waitOf(job: Job): number {
  return Math.max(0, ((job.processedOn ?? Date.now()) - job.timestamp) / 1000);
}
