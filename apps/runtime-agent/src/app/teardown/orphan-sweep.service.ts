import { Inject, Injectable } from '@nestjs/common';
import { Clock, isSessionLive } from '@sandbox/domain';
import { SessionRepository } from '@sandbox/persistence';
import { type ContainerRuntime, type SandboxInfo } from '@sandbox/runtime';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { CONTAINER_RUNTIME } from '../container-runtime.provider';
import { WarmPoolService } from '../pool/warm-pool.service';
import { SessionHostService } from '../sessions/session-host.service';
import { SessionTeardownService } from './session-teardown.service';

// a container younger than this may be one this agent is still making (not yet in the pool or a session)
const MIN_ORPHAN_AGE_SECONDS = 60;

/** A container of this node that nothing owns and that is old enough not to be one being made now. */
export function isOrphan(container: Pick<SandboxInfo, 'containerId' | 'createdAt'>, owned: ReadonlySet<string>, nowMs: number): boolean {
  return !owned.has(container.containerId) && nowMs / 1000 - container.createdAt >= MIN_ORPHAN_AGE_SECONDS;
}

/**
 * I6 on this host: every sweep lets go of the sessions held here that ended or were moved to another
 * node (their run stopped, their container removed), and removes the containers labelled with this
 * node that neither a session nor the warm pool owns. Each agent sweeps its own host.
 */
@Injectable()
export class OrphanSweepService {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly sessions: SessionRepository,
    private readonly host: SessionHostService,
    private readonly pool: WarmPoolService,
    private readonly teardown: SessionTeardownService,
    private readonly clock: Clock,
    @InjectPinoLogger(OrphanSweepService.name) private readonly log: PinoLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.ORPHAN_SWEEP_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** One sweep (never two at once); failures are logged and the next sweep tries again. */
  sweep(): Promise<{ released: number; removed: number }> {
    const run = this.sweeping.then(() => this.once());
    this.sweeping = run.catch((e) => this.log.warn({ err: e }, 'orphan sweep failed'));
    return run;
  }

  private async once(): Promise<{ released: number; removed: number }> {
    const node = this.config.NODE_ID;
    const held = this.host.sessionIds();
    const bindings = await this.sessions.bindings(held);
    let released = 0;
    for (const id of held) {
      const b = bindings.get(id);
      if (b && isSessionLive(b.status) && b.runtimeNode === node) continue;
      const why = b && isSessionLive(b.status) ? 'the session was moved to another node' : 'the session ended';
      await this.teardown.tearDown(id, why);
      released++;
      this.log.info({ session_id: id, runtime_node: node, reason: why }, 'session released');
    }
    const owned = new Set([...this.host.containerIds(), ...this.pool.containerIds()]);
    let removed = 0;
    for (const c of await this.runtime.list(node)) {
      if (!isOrphan(c, owned, this.clock.now())) continue;
      await this.runtime.remove(c.containerId);
      removed++;
      this.log.info({ container_id: c.containerId, session_id: c.labels['sandbox.session'] || undefined, runtime_node: node }, 'orphan container removed');
    }
    return { released, removed };
  }
}
