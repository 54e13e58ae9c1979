import { Inject, Injectable } from '@nestjs/common';
import { ExecutionRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
import { type BeatOutcome, NodeRegistryService } from '../node/node-registry.service';
import { QueueConsumersService } from '../queue/queue-consumers.service';
import { SessionHostService } from '../sessions/session-host.service';
import { OrphanSweepService } from '../teardown/orphan-sweep.service';

/**
 * Acts on what each heartbeat finds about this node. Cut off until its fence deadline: it freezes its
 * runs and claims nothing until a beat gets through (then they go on). Found declared lost: it fences
 * itself (ends its runs still frozen, lets go of what moved away, comes back online).
 * Marked `draining` by an operator: running work finishes, its sessions move to other nodes, and the
 * agent exits.
 */
@Injectable()
export class NodeGuardService {
  private draining: Promise<void> | null = null;
  private fenced = false;
  /** SIGTERM: the heartbeat goes on (running executions must not look lost) but is not acted on. */
  private stoodDown = false;
  private exit: () => void = () => process.kill(process.pid, 'SIGTERM');

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly registry: NodeRegistryService,
    private readonly consumers: QueueConsumersService,
    private readonly runner: ExecutionRunnerService,
    private readonly host: SessionHostService,
    private readonly sweeper: OrphanSweepService,
    private readonly executions: ExecutionRepository,
    private readonly doorbells: Doorbells,
    @InjectPinoLogger(NodeGuardService.name) private readonly log: PinoLogger,
  ) {}

  /** How the process ends after an operator's drain (main.ts closes the app and exits 0). */
  onDrained(exit: () => void): void {
    this.exit = exit;
  }

  /** The agent is shutting down: beats are no longer acted on. */
  standDown(): void {
    this.stoodDown = true;
  }

  async onBeat(outcome: BeatOutcome): Promise<void> {
    if (this.stoodDown) return;
    if (outcome === 'offline') return this.fence();
    if (outcome === 'unreachable') {
      // the reaper may give our work to another node from now on: it must not run here meanwhile
      this.runner.hold(`no heartbeat got through for ${this.config.STALE_AFTER_SECONDS}s minus the ${this.config.FENCE_MARGIN_MS} ms margin`);
      return;
    }
    this.fenced = false;
    this.runner.unhold(this.host.sessionIds());
    if (outcome === 'draining' && !this.draining) {
      this.draining = this.drain().finally(() => (this.draining = null));
    }
  }

  /**
   * This node was declared lost while it could not beat (paused, cut off): its executions were
   * retried and its sessions moved. Stop what it still runs, let go of what is no longer its own, and
   * come back online.
   */
  private async fence(): Promise<void> {
    if (this.fenced) return;
    this.fenced = true;
    this.log.warn({ runtime_node: this.config.NODE_ID }, 'this node was declared lost: fencing itself');
    this.runner.hold('this node was declared lost');
    this.runner.abandonAll('this node was declared lost: the attempt was retried elsewhere');
    try {
      await this.sweeper.sweep();
      await this.registry.register();
    } catch (e) {
      // still cut off, or the database still slow: the next beat that finds this node lost tries again
      this.fenced = false;
      throw e;
    }
    this.runner.unhold(this.host.sessionIds());
  }

  /** An operator's drain: no new sessions, running work finishes, sessions move away, the agent exits. */
  private async drain(): Promise<void> {
    const node = this.config.NODE_ID;
    this.log.info({ runtime_node: node }, 'draining: no new sessions; running executions finish');
    await this.consumers.stopShared();
    this.host.stopPlacing();
    await this.runner.drain(this.config.DRAIN_TIMEOUT_MS);
    const still = (await this.registry.status()) ?? 'offline';
    if (still !== 'draining') {
      this.log.info({ runtime_node: node, status: still }, 'drain called off: taking work again');
      this.runner.resume();
      this.host.resumePlacing();
      this.consumers.startShared();
      return;
    }
    const moved = await this.host.migrateAll();
    // their next executions go wherever they are placed now; waiting ones get a doorbell there
    for (const w of await this.executions.oldestPending(moved)) await this.doorbells.executionAgain(w, null);
    await this.registry.setStatus('offline');
    this.log.info({ runtime_node: node, sessions_moved: moved.length }, 'drained: every session moved away, exiting');
    this.exit();
  }
}
