import { Inject, Injectable } from '@nestjs/common';
import { ExecutionRepository } from '@sandbox/persistence';
import { createWorker, executionJobId, nodeQueueName, QueueProducer, type RunExecutionJob, SHARED_QUEUE } from '@sandbox/queue';
import { DelayedError, type Job, type Worker } from 'bullmq';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent-config';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
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
  private workers: Worker[] = [];

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly host: SessionHostService,
    private readonly runner: ExecutionRunnerService,
    private readonly executions: ExecutionRepository,
    private readonly producer: QueueProducer,
    @InjectPinoLogger(QueueConsumersService.name) private readonly log: PinoLogger,
  ) {}

  start(): void {
    const settings = { redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX };
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
      settings,
    );
    const own = createWorker(
      'node',
      nodeQueueName(this.config.NODE_ID),
      {
        'run-execution': (data) => this.route(data),
        'terminate-session': async ({ session_id }) => {
          this.runner.cancel(session_id, 'the session was terminated');
          await this.runner.settle(session_id);
          await this.host.release(session_id);
        },
      },
      { ...settings, concurrency: Math.max(this.config.AGENT_CAPACITY * 4, 16) },
    );
    for (const w of [shared, own]) w.on('error', (e) => this.log.error({ err: e, queue: w.name }, 'queue worker error'));
    this.workers = [shared, own];
  }

  /** Stops taking jobs; waits for the handlers in flight (they only place or route). */
  async stop(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    this.workers = [];
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
