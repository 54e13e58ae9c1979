import { Inject, Injectable } from '@nestjs/common';
import { CLIENT_CANCEL, isSessionLive, isWaitingForPlacement, type WaitingExecution } from '@sandbox/domain';
import { ExecutionRepository, SessionRepository } from '@sandbox/persistence';
import { Doorbells, type JobContext, NodeDoorbellListener, QUEUE_SETTINGS, type QueueSettings, QueueWorker, waitingOf } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
import { AgentMetrics } from '../metrics/agent.metrics';
import { SessionHostService } from '../sessions/session-host.service';
import { SessionTeardownService } from '../teardown/session-teardown.service';
import { PlacementQueueService } from './placement-queue.service';

// a full node hands placement back to the shared queue for this long, for another node to take
const FULL_NODE_DELAY_MS = 2000;

/**
 * The agent's two BullMQ workers: the shared queue (placement, executions of unplaced sessions)
 * and this node's own queue (executions and termination of the sessions it holds), and its ear for
 * the execution doorbells published to it. Thin: each job calls one service method.
 */
@Injectable()
export class QueueConsumersService {
  private shared: QueueWorker | null = null;
  private own: QueueWorker | null = null;
  private ear: NodeDoorbellListener | null = null;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(QUEUE_SETTINGS) private readonly settings: QueueSettings,
    private readonly host: SessionHostService,
    private readonly runner: ExecutionRunnerService,
    private readonly teardown: SessionTeardownService,
    private readonly executions: ExecutionRepository,
    private readonly sessions: SessionRepository,
    private readonly doorbells: Doorbells,
    private readonly placement: PlacementQueueService,
    private readonly metrics: AgentMetrics,
    @InjectPinoLogger(QueueConsumersService.name) private readonly log: PinoLogger,
  ) {}

  start(): void {
    this.ear = new NodeDoorbellListener(
      this.settings,
      this.config.NODE_ID,
      (w) => this.heard(w),
      () => this.host.sessionIds().forEach((id) => this.runner.kick(id)),
    );
    this.ear.start().catch((e) => this.log.error({ err: e }, 'cannot listen for doorbells: they come through the queue'));
    this.startShared();
    this.own = QueueWorker.start(
      'node',
      {
        'run-execution': (data, job) => this.route(waitingOf(data), job),
        'cancel-execution': async ({ execution_id }) => this.runner.cancelExecution(execution_id, CLIENT_CANCEL),
        // between runs: the executor takes it after the cell running now, if any
        'stop-context': async ({ context_id, session_id }) => this.host.sandboxIfHeld(session_id)?.stopContext(context_id),
        'terminate-session': async ({ session_id }) => {
          const session = await this.sessions.findById(session_id);
          await this.teardown.tearDown(session_id, session?.status === 'timeout' ? `the session timed out: ${session.error ?? 'idle'}` : 'the session was terminated');
        },
      },
      this.settings,
      { nodeId: this.config.NODE_ID, concurrency: Math.max(this.config.AGENT_CAPACITY * 4, 16), ...this.hooks('node') },
    );
  }

  /** Takes work any node may take (placements, executions of unplaced sessions) again. */
  startShared(): void {
    if (this.shared) return;
    this.placement.start();
    this.shared = QueueWorker.start(
      'shared',
      {
        // the doorbell only wakes the queue: which session goes first is the queue's fair order, and
        // a session that stays waiting is taken by the next node with room (every node polls the queue)
        'place-session': () => this.placement.placeWaiting(),
        'run-execution': async (data, job) => {
          if (this.host.full) return job.handBack(FULL_NODE_DELAY_MS);
          return this.route(waitingOf(data), job);
        },
      },
      this.settings,
      this.hooks('shared'),
    );
  }

  /** Stops taking new sessions (a draining node); its own queue still serves the sessions it holds. */
  async stopShared(): Promise<void> {
    const shared = this.shared;
    this.shared = null;
    await Promise.allSettled([shared?.close(), this.placement.stop()]);
  }

  /** Stops taking jobs; waits for the handlers in flight (they only place or route). */
  async stop(): Promise<void> {
    const workers = [this.shared, this.own];
    const ear = this.ear;
    this.shared = null;
    this.own = null;
    this.ear = null;
    await Promise.allSettled([ear?.close(), ...workers.map((w) => w?.close()), this.placement.stop()]);
  }

  /**
   * A published doorbell: the run loop of a session held here; any other (moved, not placed yet) goes
   * through this node's queue, whose routing places or forwards it.
   */
  private heard(w: WaitingExecution): void {
    this.metrics.doorbellsHeard.inc();
    if (this.host.holds(w.sessionId)) return this.runner.kick(w.sessionId);
    this.doorbells.executionAgain(w, this.config.NODE_ID).catch((e) => this.log.warn({ execution_id: w.id, err: e }, 'cannot queue a published doorbell: the reaper rings it again'));
  }

  private async route(w: WaitingExecution, job: JobContext): Promise<string> {
    // held here: the claim checks the binding itself (I2), no read needed
    if (this.host.holds(w.sessionId)) {
      this.runner.kick(w.sessionId);
      return 'kicked';
    }
    const session = await this.sessions.findById(w.sessionId);
    // a session in the placement queue is placed in its turn, and its node then runs what is pending
    if (session && isWaitingForPlacement(session)) return 'waits for placement';
    // bound here: the claim itself checks the binding again (I2), no need to look under the lock
    if (session?.runtimeNode === this.config.NODE_ID && isSessionLive(session.status)) {
      this.runner.kick(w.sessionId);
      return 'kicked';
    }
    const placement = await this.host.place(w.sessionId);
    switch (placement.kind) {
      case 'full':
        return job.handBack(FULL_NODE_DELAY_MS);
      case 'here':
        this.runner.kick(w.sessionId);
        return 'kicked';
      case 'elsewhere':
        await this.doorbells.execution(w, placement.node);
        return `forwarded to ${placement.node}`;
      case 'ended':
        await this.executions.cancelPending(w.sessionId, 'the session ended before the execution started');
        return 'session ended';
      case 'unplaced':
        // the shared queue may still hold this attempt's earlier doorbell, finished: ring anew
        await this.doorbells.executionAgain(w, null);
        return 'handed to the shared queue';
    }
  }

  private hooks(queue: 'shared' | 'node') {
    return {
      onTaken: (waited: number) => this.metrics.queueWait.observe({ queue }, waited),
      onError: (e: Error) => this.log.error({ err: e, queue }, 'queue worker error'),
    };
  }
}
