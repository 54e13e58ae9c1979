import { cpus, totalmem } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { type Footprint, type NodeCapacity, parseBytes, parseCpu } from '@sandbox/domain';
import { memoryBudget, type SandboxSpec } from '@sandbox/runtime';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { AgentMetrics } from '../metrics/agent.metrics';
import { DEFAULT_RESOURCES } from '../sandbox-spec.factory';

const GiB = 2 ** 30;
// per sandbox beyond its limit: the executor's interpreter, the runtime shim, page tables, kernel buffers
export const SANDBOX_OVERHEAD_BYTES = 32 * 2 ** 20;

/** What a container of this spec holds of the node: its memory limit (tmpfs and shm included) and overhead, its CPU limit. */
export function footprintOf(spec: Pick<SandboxSpec, 'memoryBytes' | 'diskBytes' | 'tmpBytes' | 'nanoCpus'>): Footprint {
  return { memoryBytes: memoryBudget(spec) + SANDBOX_OVERHEAD_BYTES, cpuNanos: spec.nanoCpus };
}

/** What a host gives its sandboxes: its memory less 1 GiB (for the agent and the system), 8 CPUs per core. */
export function hostAllocatable(host = { memoryBytes: totalmem(), cores: cpus().length }): Footprint {
  return { memoryBytes: Math.max(host.memoryBytes - GiB, host.memoryBytes / 2), cpuNanos: host.cores * 8e9 };
}

/** The node's allocatable budget: the configured one, else what the node gives (the host's figures by default). */
export function nodeBudget(config: Pick<AgentConfig, 'AGENT_MEMORY_BYTES' | 'AGENT_CPUS'>, node: Footprint = hostAllocatable()): Footprint {
  return {
    memoryBytes: config.AGENT_MEMORY_BYTES || node.memoryBytes,
    cpuNanos: config.AGENT_CPUS ? Math.round(config.AGENT_CPUS * 1e9) : node.cpuNanos,
  };
}

/** A share of the budget held by one container: a session's, or the warm pool's until a session takes it. */
export class Hold {
  private released = false;

  constructor(
    readonly footprint: Footprint,
    private session: boolean,
    private readonly budget: NodeBudgetService,
  ) {}

  get forSession(): boolean {
    return this.session;
  }

  /** A pooled container's hold passes to the session that claimed it. */
  toSession(): void {
    if (this.session || this.released) return;
    this.session = true;
    this.budget.changed(this, false);
  }

  /** Idempotent: a container removed twice frees its share once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.changed(this, true);
  }
}

/**
 * What this node may still give its sandboxes (AGENT_MEMORY_BYTES, AGENT_CPUS, AGENT_MAX_SESSIONS):
 * every container holds its footprint from before it is created until it is removed, sessions' and
 * warm pool's alike, so the sum of the limits of what runs here never exceeds the budget. Listeners
 * hear of every change (placement waits for room; the node's row shows the free capacity).
 */
@Injectable()
export class NodeBudgetService {
  private allocatable: Footprint;
  private readonly defaultSession: Footprint;
  private memory = 0;
  private cpu = 0;
  private pooledMemory = 0;
  private pooledCpu = 0;
  private sessions = 0;
  private readonly freed: (() => void)[] = [];
  private readonly changes: (() => void)[] = [];

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    metrics: AgentMetrics,
  ) {
    this.allocatable = nodeBudget(config);
    this.defaultSession = footprintOf({
      memoryBytes: parseBytes(DEFAULT_RESOURCES.memory),
      diskBytes: parseBytes(DEFAULT_RESOURCES.disk),
      tmpBytes: config.SANDBOX_TMP_BYTES,
      nanoCpus: parseCpu(DEFAULT_RESOURCES.cpu),
    });
    metrics.nodeGauge('sandbox_node_free_memory_bytes', 'Sandbox memory budget not held by a session (warm pool containers count as free)', () => this.snapshot().freeMemoryBytes);
    metrics.nodeGauge('sandbox_node_free_cpu', 'Sandbox CPU budget not held by a session, CPUs (warm pool containers count as free)', () => this.snapshot().freeCpuNanos / 1e9);
    metrics.nodeGauge('sandbox_node_free_sessions', 'Sessions of the default size that still fit on the node', () => this.snapshot().freeSessions);
  }

  get total(): Footprint {
    return this.allocatable;
  }

  /**
   * A new budget (the node's allocatable changed): what is held stays held, even past it; what is
   * waiting for room is told when there is more.
   */
  resize(total: Footprint): void {
    const grew = total.memoryBytes > this.allocatable.memoryBytes || total.cpuNanos > this.allocatable.cpuNanos;
    if (total.memoryBytes === this.allocatable.memoryBytes && total.cpuNanos === this.allocatable.cpuNanos) return;
    this.allocatable = total;
    this.emit(this.changes);
    if (grew) this.emit(this.freed);
  }

  /** A hold of `f` if it fits (and, for a session, a session slot is free); null when it does not. */
  tryHold(f: Footprint, session: boolean): Hold | null {
    if (session && this.sessions >= this.config.AGENT_MAX_SESSIONS) return null;
    if (this.memory + f.memoryBytes > this.allocatable.memoryBytes || this.cpu + f.cpuNanos > this.allocatable.cpuNanos) return null;
    return this.hold(f, session);
  }

  /** A session's hold whatever is left: its container runs already (re-attached, or replacing a lost one). */
  holdAnyway(f: Footprint): Hold {
    return this.hold(f, true);
  }

  private hold(f: Footprint, session: boolean): Hold {
    const hold = new Hold(f, session, this);
    this.memory += f.memoryBytes;
    this.cpu += f.cpuNanos;
    if (session) this.sessions++;
    else this.addPooled(f, 1);
    this.emit(this.changes);
    return hold;
  }

  /** Whether `f` would fit once the warm pool gave up its containers. */
  fitsWithoutPool(f: Footprint): boolean {
    return this.memory - this.pooledMemory + f.memoryBytes <= this.allocatable.memoryBytes && this.cpu - this.pooledCpu + f.cpuNanos <= this.allocatable.cpuNanos;
  }

  /** No session slot is left (AGENT_MAX_SESSIONS). */
  get sessionsFull(): boolean {
    return this.sessions >= this.config.AGENT_MAX_SESSIONS;
  }

  /** Free and warm-pool capacity, as the node reports it. */
  snapshot(): NodeCapacity {
    const freeMemoryBytes = this.allocatable.memoryBytes - this.memory + this.pooledMemory;
    const freeCpuNanos = this.allocatable.cpuNanos - this.cpu + this.pooledCpu;
    const freeSessions = Math.max(
      0,
      Math.min(
        this.config.AGENT_MAX_SESSIONS - this.sessions,
        Math.floor(freeMemoryBytes / this.defaultSession.memoryBytes),
        Math.floor(freeCpuNanos / this.defaultSession.cpuNanos),
      ),
    );
    return { memoryBytes: this.allocatable.memoryBytes, cpuNanos: this.allocatable.cpuNanos, freeMemoryBytes, freeCpuNanos, freeSessions };
  }

  /** Called whenever budget is freed (a container removed). */
  onFreed(listener: () => void): void {
    this.freed.push(listener);
  }

  /** Called on every change of what is held. */
  onChange(listener: () => void): void {
    this.changes.push(listener);
  }

  /** @internal the hold's own bookkeeping. */
  changed(hold: Hold, released: boolean): void {
    const f = hold.footprint;
    if (released) {
      this.memory -= f.memoryBytes;
      this.cpu -= f.cpuNanos;
      if (hold.forSession) this.sessions--;
      else this.addPooled(f, -1);
    } else {
      // a pooled container became a session's
      this.sessions++;
      this.addPooled(f, -1);
    }
    this.emit(this.changes);
    if (released) this.emit(this.freed);
  }

  private addPooled(f: Footprint, sign: 1 | -1): void {
    this.pooledMemory += sign * f.memoryBytes;
    this.pooledCpu += sign * f.cpuNanos;
  }

  private emit(listeners: (() => void)[]): void {
    for (const l of listeners) l();
  }
}
