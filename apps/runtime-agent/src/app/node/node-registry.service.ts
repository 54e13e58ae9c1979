import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { Clock, FenceDeadline, type NodeStatus } from '@sandbox/domain';
import { ExecutionRepository, RuntimeNodeRepository } from '@sandbox/persistence';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig, AGENT_VERSION } from '../agent.config';
import { CapacityReportService } from '../capacity/capacity-report.service';
import { ExecutionRunnerService } from '../executions/execution-runner.service';

/**
 * What a heartbeat found: the node's row as the database holds it (`offline`: somebody declared this
 * node lost while it was away), or `unreachable` once no beat got through for STALE_AFTER_SECONDS.
 */
export type BeatOutcome = NodeStatus | 'unreachable';

/**
 * This node's row in runtime_nodes and its heartbeat: one UPDATE of the node and one batched UPDATE
 * of every execution it runs per beat, stamped with the database clock (DESIGN.md §7).
 */
@Injectable()
export class NodeRegistryService {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();
  private readonly deadline: FenceDeadline;
  private listener: (outcome: BeatOutcome) => Promise<void> = async () => undefined;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly nodes: RuntimeNodeRepository,
    private readonly executions: ExecutionRepository,
    private readonly runner: ExecutionRunnerService,
    private readonly capacity: CapacityReportService,
    clock: Clock,
    @InjectPinoLogger(NodeRegistryService.name) private readonly log: PinoLogger,
  ) {
    this.deadline = new FenceDeadline(clock, config.STALE_AFTER_SECONDS);
  }

  async register(): Promise<void> {
    await this.nodes.register({
      id: this.config.NODE_ID,
      hostname: hostname(),
      version: AGENT_VERSION,
      capacity: this.config.AGENT_CAPACITY,
      labels: { runtime: this.config.RUNTIME_MODE },
    });
    await this.capacity.report();
  }

  /** Called after every beat with what it found (awaited before the next beat). */
  onBeat(listener: (outcome: BeatOutcome) => Promise<void>): void {
    this.listener = listener;
  }

  startHeartbeat(): void {
    this.deadline.beatGotThrough();
    this.timer = setInterval(() => {
      // never two beats at once: a slow database must not pile them up
      this.beating = this.beating.then(() => this.beat());
    }, this.config.HEARTBEAT_INTERVAL_MS);
  }

  async stopHeartbeat(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
  }

  async setStatus(status: NodeStatus): Promise<void> {
    await this.nodes.setStatus(this.config.NODE_ID, status);
  }

  async status(): Promise<NodeStatus | null> {
    return (await this.nodes.findById(this.config.NODE_ID))?.status ?? null;
  }

  private async beat(): Promise<void> {
    let outcome: BeatOutcome;
    try {
      const status = await this.nodes.heartbeat(this.config.NODE_ID, this.runner.running);
      if (status === 'missing') await this.register();
      // attempts the reaper took away are not refreshed: the update is fenced by node and status
      await this.executions.heartbeat(this.config.NODE_ID, this.runner.fences());
      this.deadline.beatGotThrough();
      outcome = status === 'missing' ? 'online' : status;
    } catch (e) {
      this.log.warn({ err: e }, 'heartbeat failed');
      if (!this.deadline.passed()) return;
      outcome = 'unreachable';
    }
    try {
      await this.listener(outcome);
    } catch (e) {
      this.log.error({ err: e, outcome }, 'cannot act on the heartbeat');
    }
  }
}
