import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { SessionRepository } from '@sandbox/persistence';
import { ExecutionEventsPublisher, QueueProducer } from '@sandbox/queue';
import { type ContainerRuntime } from '@sandbox/runtime';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from './agent-config';
import { CONTAINER_RUNTIME } from './container-runtime.provider';
import { ExecutionRunnerService } from './executions/execution-runner.service';
import { NodeRegistryService } from './node/node-registry.service';
import { WarmPoolService } from './pool/warm-pool.service';
import { QueueConsumersService } from './queue/queue-consumers.service';
import { SessionHostService } from './sessions/session-host.service';
import { TemplateCatalogService } from './template-catalog.service';

/**
 * Start and stop in a deliberate order. Start: register, reconcile the containers left by a previous
 * run, heartbeat, then take jobs; the pool fills in the background. Stop: take no more jobs, let
 * running executions finish within DRAIN_TIMEOUT_MS, then remove the warm pool and leave session
 * containers for the next start to re-attach.
 */
@Injectable()
export class AgentLifecycleService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly registry: NodeRegistryService,
    private readonly consumers: QueueConsumersService,
    private readonly runner: ExecutionRunnerService,
    private readonly pool: WarmPoolService,
    private readonly host: SessionHostService,
    private readonly sessions: SessionRepository,
    private readonly templates: TemplateCatalogService,
    private readonly producer: QueueProducer,
    private readonly events: ExecutionEventsPublisher,
    @InjectPinoLogger(AgentLifecycleService.name) private readonly log: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.registry.register();
    const adopted = await this.reconcile();
    this.registry.startHeartbeat();
    this.consumers.start();
    for (const sessionId of adopted) this.runner.kick(sessionId);
    this.pool.fillAll().catch((e) => this.log.error({ err: e }, 'warm pool fill failed'));
    this.log.info({ runtime_node: this.config.NODE_ID, capacity: this.config.AGENT_CAPACITY, warm_pool: this.config.WARM_POOL }, 'runtime agent ready');
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.info({ runtime_node: this.config.NODE_ID, signal }, 'runtime agent draining');
    await this.registry.setStatus('draining').catch(() => undefined);
    await this.consumers.stop();
    await this.runner.drain(this.config.DRAIN_TIMEOUT_MS);
    await this.registry.stopHeartbeat();
    await this.pool.drain();
    this.host.detachAll();
    await this.registry.setStatus('offline').catch(() => undefined);
    await Promise.allSettled([this.producer.close(), this.events.close()]);
    this.log.info({ runtime_node: this.config.NODE_ID }, 'runtime agent stopped');
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
