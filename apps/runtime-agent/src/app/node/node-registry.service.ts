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
 * node lost while it was away), or `unreachable` once no beat got through until the fence deadline.
 */
export type BeatOutcome = NodeStatus | 'unreachable';

/**
 * This node's row in runtime_nodes and its heartbeat: one UPDATE of the node and one batched UPDATE
 * of every execution it runs per beat, stamped with the database clock (DESIGN.md §7). Beats go out
 * on a fixed schedule whatever the database does: a beat that hangs is given up after two intervals
 * (its query times out on its own) and the next one goes out on another connection; the fence
 * deadline is checked on every tick, not when a beat comes back.
 */
@Injectable()
export class NodeRegistryService {
  private timer: NodeJS.Timeout | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private acting: Promise<void> = Promise.resolve();
  private cutOff = false;
  private readonly deadline: FenceDeadline;
  private listener: (outcome: BeatOutcome) => Promise<void> = async () => undefined;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly nodes: RuntimeNodeRepository,
    private readonly executions: ExecutionRepository,
    private readonly runner: ExecutionRunnerService,
    private readonly capacity: CapacityReportService,
    private readonly clock: Clock,
    @InjectPinoLogger(NodeRegistryService.name) private readonly log: PinoLogger,
  ) {
    this.deadline = new FenceDeadline(clock, config.STALE_AFTER_SECONDS, config.FENCE_MARGIN_MS);
  }

  /** Registers the node online; the write stamps a heartbeat, so it moves the fence deadline too. */
  async register(): Promise<void> {
    const sentAt = this.clock.monotonic();
    await this.nodes.register({
      id: this.config.NODE_ID,
      hostname: hostname(),
      version: AGENT_VERSION,
      capacity: this.config.AGENT_CAPACITY,
      labels: { runtime: this.config.RUNTIME_MODE },
    });
    await this.capacity.report();
    this.deadline.beatGotThrough(sentAt);
    this.runner.lease(this.deadline.until());
    this.armFence();
  }

  /** Called with what each beat found, one call at a time; `unreachable` is told at once. */
  onBeat(listener: (outcome: BeatOutcome) => Promise<void>): void {
    this.listener = listener;
  }

  startHeartbeat(): void {
    this.timer = setInterval(() => this.tick(), this.config.HEARTBEAT_INTERVAL_MS);
  }

  async stopHeartbeat(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.timer = null;
    this.fenceTimer = null;
    await this.inFlight;
    await this.acting;
  }

  async setStatus(status: NodeStatus): Promise<void> {
    await this.nodes.setStatus(this.config.NODE_ID, status);
  }

  async status(): Promise<NodeStatus | null> {
    return (await this.nodes.findById(this.config.NODE_ID))?.status ?? null;
  }

  /** At the fence deadline to the ms, not at the next tick: a tick may come an interval late. */
  private armFence(): void {
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.fenceTimer = setTimeout(() => this.checkFence(), Math.max(0, this.deadline.until() - this.clock.monotonic()));
    this.fenceTimer.unref();
  }

  private checkFence(): void {
    if (this.cutOff || !this.deadline.passed()) return;
    this.cutOff = true;
    this.log.warn({ runtime_node: this.config.NODE_ID, stale_after_s: this.config.STALE_AFTER_SECONDS }, 'no heartbeat got through: fencing this node');
    // not queued behind a slow reaction to an earlier beat: the deadline is now
    this.listener('unreachable').catch((e) => this.log.error({ err: e }, 'cannot fence this node'));
  }

  private tick(): void {
    this.checkFence();
    if (this.inFlight) return;
    const beat = this.beat();
    const givenUp = new Promise<void>((r) => setTimeout(r, 2 * this.config.HEARTBEAT_INTERVAL_MS).unref());
    this.inFlight = Promise.race([beat, givenUp]).finally(() => (this.inFlight = null));
  }

  private async beat(): Promise<void> {
    const sentAt = this.clock.monotonic();
    let outcome: BeatOutcome;
    try {
      const status = await this.nodes.heartbeat(this.config.NODE_ID, this.runner.running);
      if (status === 'missing') await this.register();
      // attempts the reaper took away are not refreshed: the update is fenced by node and status
      await this.executions.heartbeat(this.config.NODE_ID, this.runner.fences());
      // only a node row still ours counts: `offline` means we were declared lost while away
      if (status !== 'offline') {
        this.deadline.beatGotThrough(sentAt);
        this.runner.lease(this.deadline.until());
        this.armFence();
        this.cutOff = false;
      }
      outcome = status === 'missing' ? 'online' : status;
    } catch (e) {
      this.log.warn({ err: e }, 'heartbeat failed');
      return;
    }
    this.acting = this.acting.then(() => this.listener(outcome)).catch((e) => this.log.error({ err: e, outcome }, 'cannot act on the heartbeat'));
  }
}
