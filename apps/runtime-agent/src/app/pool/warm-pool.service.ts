import { Inject, Injectable } from '@nestjs/common';
import { type Template } from '@sandbox/domain';
import { type ContainerRuntime, type Sandbox } from '@sandbox/runtime';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { CONTAINER_RUNTIME } from '../container-runtime.provider';
import { sandboxSpec } from '../sandbox-spec.factory';
import { AgentMetrics } from '../metrics/agent.metrics';
import { TemplateCatalogService } from '../template-catalog.service';

// after a failed create (missing image, engine down), wait before trying that template again
const REFILL_BACKOFF_MS = 5000;

/**
 * Started, hardened containers waiting for a session, per template (size from WARM_POOL). A claim
 * takes one in the time of a method call; the pool refills in the background, one container at a
 * time per template so a refill never starves running executions of CPU.
 */
@Injectable()
export class WarmPoolService {
  private readonly pools = new Map<string, Sandbox[]>();
  private readonly refilling = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly templates: TemplateCatalogService,
    metrics: AgentMetrics,
    @InjectPinoLogger(WarmPoolService.name) private readonly log: PinoLogger,
  ) {
    metrics.gauge('sandbox_warm_pool_size', 'Started containers waiting for a session, per template', () =>
      Object.keys(config.WARM_POOL).map((template): [Record<string, string>, number] => [{ template, node: config.NODE_ID }, this.pools.get(template)?.length ?? 0]),
    );
  }

  /** A ready sandbox of the template: warm when the pool has one, else started now (cold). */
  async claim(template: Template): Promise<{ sandbox: Sandbox; warm: boolean }> {
    const pool = this.pools.get(template.id) ?? [];
    let sandbox: Sandbox | undefined;
    while ((sandbox = pool.shift()) && !sandbox.alive);
    this.refill(template.id);
    if (sandbox) return { sandbox, warm: true };
    return { sandbox: await this.runtime.create(sandboxSpec(this.config, template)), warm: false };
  }

  /** Takes back a sandbox that was claimed but not used (its session went to another node). */
  async release(sandbox: Sandbox): Promise<void> {
    const pool = this.pools.get(sandbox.templateId) ?? [];
    if (!this.stopped && sandbox.alive && pool.length < this.target(sandbox.templateId)) {
      pool.push(sandbox);
      this.pools.set(sandbox.templateId, pool);
      return;
    }
    sandbox.detach();
    await this.runtime.remove(sandbox.containerId);
  }

  /** Fills every configured pool; resolves when each has had one round of creates. */
  async fillAll(): Promise<void> {
    await Promise.all(Object.keys(this.config.WARM_POOL).map((id) => this.refill(id)));
  }

  /** Containers the pool owns now. */
  containerIds(): string[] {
    return [...this.pools.values()].flat().map((s) => s.containerId);
  }

  size(templateId: string): number {
    return (this.pools.get(templateId) ?? []).filter((s) => s.alive).length;
  }

  /** Removes every pooled container (shutdown); containers of sessions are not the pool's. */
  async drain(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.refilling.values());
    const all = [...this.pools.values()].flat();
    this.pools.clear();
    await Promise.allSettled(
      all.map(async (s) => {
        s.detach();
        await this.runtime.remove(s.containerId);
      }),
    );
  }

  private target(templateId: string): number {
    return this.config.WARM_POOL[templateId] ?? 0;
  }

  private refill(templateId: string): Promise<void> {
    const running = this.refilling.get(templateId);
    if (running || this.stopped || this.target(templateId) === 0) return running ?? Promise.resolve();
    const job = this.refillLoop(templateId).finally(() => this.refilling.delete(templateId));
    this.refilling.set(templateId, job);
    return job;
  }

  private async refillLoop(templateId: string): Promise<void> {
    const pool = this.pools.get(templateId) ?? [];
    this.pools.set(templateId, pool);
    while (!this.stopped) {
      for (let i = pool.length - 1; i >= 0; i--) if (!pool[i]!.alive) pool.splice(i, 1);
      if (pool.length >= this.target(templateId)) return;
      try {
        const template = await this.templates.get(templateId);
        if (!template) {
          this.log.warn({ template_id: templateId }, 'warm pool names an unknown template');
          return;
        }
        const t0 = Date.now();
        const sandbox = await this.runtime.create(sandboxSpec(this.config, template));
        if (this.stopped) {
          sandbox.detach();
          await this.runtime.remove(sandbox.containerId);
          return;
        }
        sandbox.onLost(() => this.refill(templateId));
        pool.push(sandbox);
        this.log.debug({ template_id: templateId, container_id: sandbox.containerId, duration_ms: Date.now() - t0 }, 'warm container ready');
      } catch (e) {
        this.log.error({ template_id: templateId, err: e }, 'cannot start a warm container');
        await new Promise((r) => setTimeout(r, REFILL_BACKOFF_MS));
      }
    }
  }
}
