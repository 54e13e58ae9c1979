import { Inject, Injectable } from '@nestjs/common';
import { type Template } from '@sandbox/domain';
import { type ContainerRuntime, type Sandbox } from '@sandbox/runtime';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { footprintOf, type Hold, NodeBudgetService } from '../capacity/node-budget.service';
import { CONTAINER_RUNTIME } from '../container-runtime.provider';
import { sandboxSpec } from '../sandbox-spec.factory';
import { AgentMetrics } from '../metrics/agent.metrics';
import { TemplateCatalogService } from '../template-catalog.service';

// after a failed create (missing image, engine down), wait before trying that template again
const REFILL_BACKOFF_MS = 5000;
// a claimed session's client sends its first execution at once: a container starting meanwhile (both
// cores of a small host for ~0.4 s) slowed the claim by a quarter and that execution too
const REFILL_AFTER_CLAIM_MS = 250;

/** A started container and its share of the node's budget. */
export interface Held {
  readonly sandbox: Sandbox;
  readonly hold: Hold;
}

/**
 * Started, hardened containers waiting for a session, per template (size from WARM_POOL). A claim
 * takes one in the time of a method call; the pool refills in the background, shortly after the claim
 * and one container at a time per template, so a refill never starves running executions of CPU.
 * Pooled containers hold their share of the node's budget like sessions do, and give it up first when
 * a session needs room.
 */
@Injectable()
export class WarmPoolService {
  private readonly pools = new Map<string, Held[]>();
  private readonly refilling = new Map<string, Promise<void>>();
  /** Containers the pool started (made to the template's spec): the only ones it takes back. */
  private readonly issued = new WeakSet<Sandbox>();
  private stopped = false;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly templates: TemplateCatalogService,
    private readonly budget: NodeBudgetService,
    metrics: AgentMetrics,
    @InjectPinoLogger(WarmPoolService.name) private readonly log: PinoLogger,
  ) {
    metrics.gauge('sandbox_warm_pool_size', 'Started containers waiting for a session, per template', () =>
      Object.keys(config.WARM_POOL).map((template): [Record<string, string>, number] => [{ template, node: config.NODE_ID }, this.pools.get(template)?.length ?? 0]),
    );
  }

  /** A warm sandbox of the template, its hold now the session's; null when the pool has none. */
  take(template: Template): Held | null {
    const pool = this.pools.get(template.id) ?? [];
    let held: Held | undefined;
    while ((held = pool.shift()) && !held.sandbox.alive) this.forget(held);
    setTimeout(() => void this.refill(template.id), REFILL_AFTER_CLAIM_MS).unref();
    if (!held) return null;
    held.hold.toSession();
    return held;
  }

  /**
   * Takes back a sandbox it handed out that was not used (its session went to another node). Any
   * other container (one started to a session's own limits) is removed: it is not the pool's spec.
   */
  async release({ sandbox, hold }: Held): Promise<void> {
    const pool = this.pools.get(sandbox.templateId) ?? [];
    if (this.issued.has(sandbox) && !this.stopped && sandbox.alive && pool.length < this.target(sandbox.templateId)) {
      hold.release();
      const pooled = this.budget.tryHold(hold.footprint, false);
      if (pooled) {
        pool.push({ sandbox, hold: pooled });
        this.pools.set(sandbox.templateId, pool);
        return;
      }
    }
    this.issued.delete(sandbox);
    hold.release();
    sandbox.detach();
    await this.runtime.remove(sandbox.containerId);
  }

  /** Removes one idle pooled container, freeing its share for a session; false when the pool is empty. */
  async evictOne(): Promise<boolean> {
    const pool = [...this.pools.values()].sort((a, b) => b.length - a.length)[0];
    const held = pool?.shift();
    if (!held) return false;
    this.forget(held);
    held.sandbox.detach();
    await this.runtime.remove(held.sandbox.containerId);
    this.log.info({ template_id: held.sandbox.templateId, container_id: held.sandbox.containerId }, 'warm container removed to make room for a session');
    return true;
  }

  /** Fills every configured pool; resolves when each has had one round of creates. */
  async fillAll(): Promise<void> {
    await Promise.all(Object.keys(this.config.WARM_POOL).map((id) => this.refill(id)));
  }

  /** Containers the pool owns now. */
  containerIds(): string[] {
    return [...this.pools.values()].flat().map((h) => h.sandbox.containerId);
  }

  size(templateId: string): number {
    return (this.pools.get(templateId) ?? []).filter((h) => h.sandbox.alive).length;
  }

  /** Removes every pooled container (shutdown); containers of sessions are not the pool's. */
  async drain(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.refilling.values());
    const all = [...this.pools.values()].flat();
    this.pools.clear();
    await Promise.allSettled(
      all.map(async (h) => {
        this.forget(h);
        h.sandbox.detach();
        await this.runtime.remove(h.sandbox.containerId);
      }),
    );
  }

  private forget(held: Held): void {
    this.issued.delete(held.sandbox);
    held.hold.release();
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
      for (let i = pool.length - 1; i >= 0; i--) if (!pool[i]!.sandbox.alive) this.forget(pool.splice(i, 1)[0]!);
      if (pool.length >= this.target(templateId)) return;
      let hold: Hold | null = null;
      try {
        const template = await this.templates.get(templateId);
        if (!template) {
          this.log.warn({ template_id: templateId }, 'warm pool names an unknown template');
          return;
        }
        const spec = sandboxSpec(this.config, template);
        // a node without room keeps no warm container: the next claim tries again
        hold = this.budget.tryHold(footprintOf(spec), false);
        if (!hold) return;
        const t0 = Date.now();
        const sandbox = await this.runtime.create(spec);
        this.templates.noteRuntimes(templateId, spec.image, sandbox.runtimes);
        if (this.stopped) {
          hold.release();
          sandbox.detach();
          await this.runtime.remove(sandbox.containerId);
          return;
        }
        sandbox.onLost(() => this.refill(templateId));
        this.issued.add(sandbox);
        pool.push({ sandbox, hold });
        this.log.debug({ template_id: templateId, container_id: sandbox.containerId, duration_ms: Date.now() - t0 }, 'warm container ready');
      } catch (e) {
        hold?.release();
        this.log.error({ template_id: templateId, err: e }, 'cannot start a warm container');
        await new Promise((r) => setTimeout(r, REFILL_BACKOFF_MS));
      }
    }
  }
}
