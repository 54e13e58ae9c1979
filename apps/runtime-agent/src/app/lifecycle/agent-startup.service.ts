import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { ExecutionRunnerService } from '../executions/execution-runner.service';
import { NodeAllocatableService } from '../capacity/node-allocatable.service';
import { NodeRegistryService } from '../node/node-registry.service';
import { WarmPoolService } from '../pool/warm-pool.service';
import { QueueConsumersService } from '../queue/queue-consumers.service';
import { SessionHostService } from '../sessions/session-host.service';
import { OrphanSweepService } from '../teardown/orphan-sweep.service';
import { NodeGuardService } from './node-guard.service';

/**
 * Start and stop in a deliberate order.
 * Start: read the node's allocatable (Kubernetes), register, reconcile the containers left by a previous run, heartbeat (each beat acted on by
 * the node guard), then take jobs; the pool fills in the background.
 * SIGTERM: take no more jobs, let running executions finish within DRAIN_TIMEOUT_MS, remove the warm
 * pool and leave session containers for the next start to re-attach. The heartbeat goes on until
 * then, so running executions never look lost.
 */
@Injectable()
export class AgentStartupService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    private readonly allocatable: NodeAllocatableService,
    private readonly registry: NodeRegistryService,
    private readonly guard: NodeGuardService,
    private readonly consumers: QueueConsumersService,
    private readonly runner: ExecutionRunnerService,
    private readonly pool: WarmPoolService,
    private readonly host: SessionHostService,
    private readonly sweeper: OrphanSweepService,
    @InjectPinoLogger(AgentStartupService.name) private readonly log: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.allocatable.start();
    await this.registry.register();
    const adopted = await this.host.reconcile();
    this.registry.onBeat((outcome) => this.guard.onBeat(outcome));
    this.registry.startHeartbeat();
    this.consumers.start();
    this.sweeper.start();
    for (const sessionId of adopted) this.runner.kick(sessionId);
    this.pool.fillAll().catch((e) => this.log.error({ err: e }, 'warm pool fill failed'));
    this.log.info({ runtime_node: this.config.NODE_ID, capacity: this.config.AGENT_CAPACITY, warm_pool: this.config.WARM_POOL }, 'runtime agent ready');
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.info({ runtime_node: this.config.NODE_ID, signal }, 'runtime agent stopping');
    this.guard.standDown();
    // best effort, both: the reaper judges the node by its heartbeat, not by this status
    await this.registry.setStatus('draining').catch((e) => this.log.warn({ err: e }, 'node status not recorded'));
    await this.consumers.stop();
    await this.runner.drain(this.config.DRAIN_TIMEOUT_MS);
    await this.sweeper.stop();
    this.allocatable.stop();
    await this.registry.stopHeartbeat();
    await this.pool.drain();
    this.host.detachAll();
    await this.registry.setStatus('offline').catch((e) => this.log.warn({ err: e }, 'node status not recorded'));
    this.log.info({ runtime_node: this.config.NODE_ID }, 'runtime agent stopped');
  }
}
