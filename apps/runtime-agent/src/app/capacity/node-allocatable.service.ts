import { Inject, Injectable } from '@nestjs/common';
import { type ContainerRuntime } from '@sandbox/runtime';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { CONTAINER_RUNTIME } from '../container-runtime.provider';
import { NodeBudgetService, nodeBudget } from './node-budget.service';

// a pod placed on the node by someone else shrinks the budget within this time
const REFRESH_MS = 15_000;

/**
 * Where the runtime knows the node's allocatable (a Kubernetes node: its allocatable less what its other
 * pods request), the budget follows it: read before the node registers, then every REFRESH_MS. What
 * AGENT_MEMORY_BYTES or AGENT_CPUS set stays as configured.
 */
@Injectable()
export class NodeAllocatableService {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly budget: NodeBudgetService,
    @InjectPinoLogger(NodeAllocatableService.name) private readonly log: PinoLogger,
  ) {}

  async start(): Promise<void> {
    if (!this.runtime.allocatable || (this.config.AGENT_MEMORY_BYTES && this.config.AGENT_CPUS)) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Failures keep the last budget: the kubelet still refuses what does not fit, and the next refresh tries again. */
  private async refresh(): Promise<void> {
    try {
      const total = nodeBudget(this.config, await this.runtime.allocatable!(this.config.NODE_ID));
      if (total.memoryBytes !== this.budget.total.memoryBytes || total.cpuNanos !== this.budget.total.cpuNanos) this.log.info({ budget: total }, 'node budget follows its allocatable');
      this.budget.resize(total);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot read the node allocatable; the budget stays as it was');
    }
  }
}
