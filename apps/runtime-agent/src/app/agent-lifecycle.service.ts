import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ExecutionRepository, SessionRepository } from '@sandbox/persistence';
import { ExecutionEventsPublisher, QueueProducer } from '@sandbox/queue';
import { type ContainerRuntime } from '@sandbox/runtime';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from './agent-config';
import { CONTAINER_RUNTIME } from './container-runtime.provider';
import { ExecutionRunnerService } from './executions/execution-runner.service';
import { type BeatOutcome, NodeRegistryService } from './node/node-registry.service';
import { WarmPoolService } from './pool/warm-pool.service';
import { QueueConsumersService } from './queue/queue-consumers.service';
import { OrphanSweepService } from './sessions/orphan-sweep.service';
import { SessionHostService } from './sessions/session-host.service';
import { TemplateCatalogService } from './template-catalog.service';

/**
 * Start and stop in a deliberate order, and act on what the heartbeat finds.
 * Start: register, reconcile the containers left by a previous run, heartbeat, then take jobs; the
 * pool fills in the background. SIGTERM: take no more jobs, let running executions finish within
 * DRAIN_TIMEOUT_MS, remove the warm pool and leave session containers for the next start to re-attach.
 * An operator's drain (status `draining`) goes further: once running work is done, the sessions move
 * to other nodes and the agent exits. A node found declared lost fences itself.
 */
@Injectable()
export class AgentLifecycleService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private draining: Promise<void> | null = null;
  private fenced = false;
  /** SIGTERM: the heartbeat goes on (running executions must not look lost) but is not acted on. */
  private stopping = false;
  private exit: () => void = () => process.kill(process.pid, 'SIGTERM');

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly registry: NodeRegistryService,
    private readonly consumers: QueueConsumersService,
    private readonly runner: ExecutionRunnerService,
    private readonly pool: WarmPoolService,
    private readonly host: SessionHostService,
    private readonly sweeper: OrphanSweepService,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly templates: TemplateCatalogService,
    private readonly producer: QueueProducer,
    private readonly events: ExecutionEventsPublisher,
    @InjectPinoLogger(AgentLifecycleService.name) private readonly log: PinoLogger,
  ) {}

  /** How the process ends after an operator's drain (main.ts closes the app and exits 0). */
  onDrained(exit: () => void): void {
    this.exit = exit;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.registry.register();
    const adopted = await this.reconcile();
    this.registry.onBeat((outcome) => this.onBeat(outcome));
    this.registry.startHeartbeat();
    this.consumers.start();
    this.sweeper.start();
    for (const sessionId of adopted) this.runner.kick(sessionId);
    this.pool.fillAll().catch((e) => this.log.error({ err: e }, 'warm pool fill failed'));
    this.log.info({ runtime_node: this.config.NODE_ID, capacity: this.config.AGENT_CAPACITY, warm_pool: this.config.WARM_POOL }, 'runtime agent ready');
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.info({ runtime_node: this.config.NODE_ID, signal }, 'runtime agent stopping');
    this.stopping = true;
    await this.registry.setStatus('draining').catch(() => undefined);
    await this.consumers.stop();
    await this.runner.drain(this.config.DRAIN_TIMEOUT_MS);
    await this.sweeper.stop();
    await this.registry.stopHeartbeat();
    await this.pool.drain();
    this.host.detachAll();
    await this.registry.setStatus('offline').catch(() => undefined);
    await Promise.allSettled([this.producer.close(), this.events.close()]);
    this.log.info({ runtime_node: this.config.NODE_ID }, 'runtime agent stopped');
  }

  private async onBeat(outcome: BeatOutcome): Promise<void> {
    if (this.stopping) return;
    if (outcome === 'offline') return this.fence();
    if (outcome === 'unreachable') {
      // the reaper gives our work to another node after the same threshold: stop it before it runs twice
      this.runner.abandonAll(`no heartbeat got through for over ${this.config.STALE_AFTER_SECONDS}s`);
      return;
    }
    this.fenced = false;
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
    this.runner.abandonAll('this node was declared lost: the attempt was retried elsewhere');
    await this.sweeper.sweep();
    await this.registry.register();
  }

  /** An operator's drain: no new sessions, running work finishes, sessions move away, the agent exits. */
  private async drain(): Promise<void> {
    const node = this.config.NODE_ID;
    this.log.info({ runtime_node: node }, 'draining: no new sessions; running executions finish');
    await this.consumers.stopShared();
    await this.runner.drain(this.config.DRAIN_TIMEOUT_MS);
    const still = (await this.registry.status()) ?? 'offline';
    if (still !== 'draining') {
      this.log.info({ runtime_node: node, status: still }, 'drain called off: taking work again');
      this.runner.resume();
      this.consumers.startShared();
      return;
    }
    const moved = await this.host.migrateAll();
    // their next executions go wherever they are placed now; waiting ones get a doorbell there
    await this.consumers.ringShared(await this.executions.oldestPending(moved));
    await this.registry.setStatus('offline');
    this.log.info({ runtime_node: node, sessions_moved: moved.length }, 'drained: every session moved away, exiting');
    this.exit();
  }

  /**
   * Containers labelled with this node: those of live sessions bound here are re-attached, every
   * other one (old pool, ended or moved sessions) is removed. Returns the sessions to resume.
   */
  private async reconcile(): Promise<string[]> {
    const bound = await this.sessions.boundTo(this.config.NODE_ID);
    const byContainer = new Map(bound.map((s) => [s.containerId, s]));
    let removed = 0;
    for (const c of await this.runtime.list(this.config.NODE_ID)) {
      const session = byContainer.get(c.containerId);
      const template = session && (await this.templates.get(session.templateId));
      if (session && template && c.running) {
        try {
          this.host.adopt(session, await this.runtime.reattach(c.containerId, session.templateId), template);
          continue;
        } catch (e) {
          this.log.warn({ session_id: session.id, container_id: c.containerId, err: e }, 'cannot re-attach: the session gets a new container');
        }
      }
      await this.runtime.remove(c.containerId);
      removed++;
    }
    this.log.info({ runtime_node: this.config.NODE_ID, sessions: bound.length, removed }, 'containers reconciled');
    return bound.map((s) => s.id);
  }
}
