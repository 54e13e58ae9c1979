import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { type NodeStatus } from '@sandbox/domain';
import { ExecutionRepository, RuntimeNodeRepository } from '@sandbox/persistence';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig, AGENT_VERSION } from '../agent-config';
import { ExecutionRunnerService } from '../executions/execution-runner.service';

/**
 * This node's row in runtime_nodes and its heartbeat: one UPDATE of the node and one batched UPDATE
 * of every execution it runs per beat, stamped with the database clock (DESIGN.md §7).
 */
@Injectable()
export class NodeRegistryService {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly nodes: RuntimeNodeRepository,
    private readonly executions: ExecutionRepository,
    private readonly runner: ExecutionRunnerService,
    @InjectPinoLogger(NodeRegistryService.name) private readonly log: PinoLogger,
  ) {}

  async register(): Promise<void> {
    await this.nodes.register({
      id: this.config.NODE_ID,
      hostname: hostname(),
      version: AGENT_VERSION,
      capacity: this.config.AGENT_CAPACITY,
      labels: { runtime: this.config.RUNTIME_MODE },
    });
  }

  startHeartbeat(): void {
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

  private async beat(): Promise<void> {
    try {
      if (!(await this.nodes.heartbeat(this.config.NODE_ID, this.runner.running))) await this.register();
      await this.executions.heartbeat(this.config.NODE_ID, this.runner.fences());
    } catch (e) {
      this.log.warn({ err: e }, 'heartbeat failed');
    }
  }
}
