import { Inject, Injectable } from '@nestjs/common';
import { bindSession, failSession, isSessionLive, runIdOf, type Session, type SessionErrorCode, type Template } from '@sandbox/domain';
import { ExecutionRepository, SessionRepository } from '@sandbox/persistence';
import { type ContainerRuntime, type Sandbox, type SandboxSpec, startFailureKind } from '@sandbox/runtime';
import { inSpan } from '@sandbox/telemetry';
import { freshWorkspace, type WorkspaceState } from '@sandbox/workspace-sync';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';
import { footprintOf, type Hold, NodeBudgetService } from '../capacity/node-budget.service';
import { CONTAINER_RUNTIME } from '../container-runtime.provider';
import { AgentMetrics } from '../metrics/agent.metrics';
import { type Held, WarmPoolService } from '../pool/warm-pool.service';
import { fitsWarmPool, sandboxSpec } from '../sandbox-spec.factory';
import { TemplateCatalogService } from '../template-catalog.service';
import { KeyedMutex } from './keyed-mutex';

// a transient engine error (5xx, socket hiccup, executor slow to come up) gets this many more tries
const COLD_START_RETRIES = 2;

export type Placement =
  | { readonly kind: 'here' }
  | { readonly kind: 'elsewhere'; readonly node: string }
  | { readonly kind: 'ended' }
  /** This node has no room for it now (it stays in the placement queue). */
  | { readonly kind: 'full' }
  /** Nobody holds it and this node takes no new sessions (draining): another node must. */
  | { readonly kind: 'unplaced' };

/** A session held here: its container and share of the node's budget, its template, and what the container holds of its workspace. */
export interface Hosted {
  readonly sandbox: Sandbox;
  readonly hold: Hold;
  readonly template: Template;
  readonly workspace: WorkspaceState;
}

/**
 * Starts a container, trying again on a transient failure (COLD_START_RETRIES more times, backing off
 * from 250 ms); a missing image or any other failure is final at once.
 */
export function startWithRetry(create: () => Promise<Sandbox>, onRetry: (e: unknown, attempt: number) => void = () => undefined): Promise<Sandbox> {
  const policy = retry(
    handleWhen((e) => startFailureKind(e) === 'transient'),
    { maxAttempts: COLD_START_RETRIES, backoff: new ExponentialBackoff({ initialDelay: 250, maxDelay: 2000 }) },
  );
  policy.onRetry((r) => onRetry('error' in r ? r.error : undefined, r.attempt));
  return policy.execute(create);
}

/**
 * The sessions this node holds, each with its one container. Placement binds a session with the
 * conditional UPDATE of I1 (only the winner keeps it); a lost container is replaced before the
 * session's next execution.
 */
@Injectable()
export class SessionHostService {
  private readonly hosted = new Map<string, Hosted>();
  /** Placement, container replacement and release of one session never overlap. */
  private readonly locks = new KeyedMutex();
  /** Containers claimed for a session that is being bound: owned, though not hosted yet. */
  private readonly placing = new Set<string>();
  /** False while the node drains: a doorbell racing the migration must not bind a session back here. */
  private placesNew = true;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly pool: WarmPoolService,
    private readonly budget: NodeBudgetService,
    private readonly templates: TemplateCatalogService,
    private readonly metrics: AgentMetrics,
    @InjectPinoLogger(SessionHostService.name) private readonly log: PinoLogger,
  ) {}

  get count(): number {
    return this.hosted.size;
  }

  /** No session slot is left (AGENT_MAX_SESSIONS); a free slot may still lack memory or CPU. */
  get full(): boolean {
    return this.budget.sessionsFull;
  }

  /** The session is bound here (its container may still need replacing). */
  holds(sessionId: string): boolean {
    return this.hosted.has(sessionId);
  }

  /** Sessions held here. */
  sessionIds(): string[] {
    return [...this.hosted.keys()];
  }

  /** Containers of the sessions held here, and of those being placed. */
  containerIds(): string[] {
    return [...[...this.hosted.values()].map((h) => h.sandbox.containerId), ...this.placing];
  }

  /**
   * Hands every session held here back for placement elsewhere (an operator drains the node): unbound
   * in the database, container removed; the store holds their workspaces. Returns their ids.
   */
  async migrateAll(): Promise<string[]> {
    const moved: string[] = [];
    for (const id of this.sessionIds()) {
      if (await this.sessions.unbind(id, this.config.NODE_ID)) moved.push(id);
      await this.release(id);
    }
    return moved;
  }

  /** Draining: sessions nobody holds are left for other nodes (`unplaced`). */
  stopPlacing(): void {
    this.placesNew = false;
  }

  resumePlacing(): void {
    this.placesNew = true;
  }

  /**
   * Places the session here if no node holds it, and says where it is. `seen`: the session as the
   * placement queue read it just now, so it is not read again (the bind's conditional UPDATE decides, I1).
   */
  place(sessionId: string, seen?: Session): Promise<Placement> {
    return this.locks.runExclusive(sessionId, async () => {
      if (this.hosted.has(sessionId)) return { kind: 'here' };
      const session = seen ?? (await this.sessions.findById(sessionId));
      if (!session || !isSessionLive(session.status)) return { kind: 'ended' };
      if (session.runtimeNode && session.runtimeNode !== this.config.NODE_ID) return { kind: 'elsewhere', node: session.runtimeNode };
      if (session.runtimeNode === this.config.NODE_ID) return { kind: 'here' };
      if (!this.placesNew) return { kind: 'unplaced' };
      // continues the trace of the request that created the session
      return inSpan('session.place', { 'sandbox.session_id': session.id, 'sandbox.node': this.config.NODE_ID }, () => this.bind(session), session.traceParent);
    });
  }

  /**
   * The session bound here with a live container, replacing a lost container first (a new container
   * for the same session, whose workspace is then restored from the store before it runs anything).
   */
  hostedFor(session: Session): Promise<Hosted> {
    return this.locks.runExclusive(session.id, async () => {
      const hosted = this.hosted.get(session.id);
      if (hosted?.sandbox.alive) return hosted;
      const template = hosted?.template ?? (await this.templates.get(session.templateId));
      if (!template) throw new Error(`template '${session.templateId}' no longer exists`);
      const spec = sandboxSpec(this.config, template, session);
      // the replacement takes over the lost container's share; a session bound here runs even over budget
      const hold = hosted?.hold ?? this.budget.holdAnyway(footprintOf(spec));
      let sandbox: Sandbox;
      try {
        sandbox = await this.coldStart(session.id, spec);
      } catch (e) {
        if (!hosted) hold.release();
        throw e;
      }
      if (!(await this.sessions.replaceContainer(session.id, this.config.NODE_ID, session.containerId, sandbox.containerId))) {
        await this.discard(sandbox, hosted ? undefined : hold);
        throw new Error('the session is no longer held by this node');
      }
      // the lost container is gone or going; the orphan sweep removes whatever is left of it
      if (hosted) await this.runtime.remove(hosted.sandbox.containerId).catch((e) => this.log.warn({ session_id: session.id, err: e }, 'cannot remove the lost container'));
      const replaced = { sandbox, hold, template, workspace: freshWorkspace() };
      this.hosted.set(session.id, replaced);
      this.log.info({ session_id: session.id, container_id: sandbox.containerId }, 'session container replaced');
      return replaced;
    });
  }

  /** The session's sandbox if this node holds a live one. */
  sandboxIfHeld(sessionId: string): Sandbox | undefined {
    const sandbox = this.hosted.get(sessionId)?.sandbox;
    return sandbox?.alive ? sandbox : undefined;
  }

  /**
   * After an agent restart: the containers labelled with this node that belong to live sessions bound
   * here are re-attached; every other one (old pool, ended or moved sessions) is removed. Returns the
   * sessions bound here, whose run loops resume.
   */
  async reconcile(): Promise<string[]> {
    const bound = await this.sessions.boundTo(this.config.NODE_ID);
    const byContainer = new Map(bound.map((s) => [s.containerId, s]));
    let removed = 0;
    // runs the previous process left going: stopped, their late replies dropped (the reaper retries them)
    const leftovers = await this.executions.runningOn(this.config.NODE_ID);
    for (const c of await this.runtime.list(this.config.NODE_ID)) {
      const session = byContainer.get(c.containerId);
      const template = session && (await this.templates.get(session.templateId));
      if (session && template && c.running) {
        try {
          const sandbox = await this.runtime.reattach(c.containerId, session.templateId);
          // it runs already: its share is held even if the budget shrank since
          const hold = this.budget.holdAnyway(footprintOf(sandboxSpec(this.config, template, session)));
          // what its workspace holds is not known any more: the next execution restores it from the store
          for (const e of leftovers) if (e.sessionId === session.id) sandbox.stopLeftover(runIdOf(e));
          this.hosted.set(session.id, { sandbox, hold, template, workspace: freshWorkspace(true) });
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

  /** Removes the session's container (it ended); safe to call for a session not held here. */
  release(sessionId: string): Promise<void> {
    return this.locks.runExclusive(sessionId, async () => {
      const hosted = this.hosted.get(sessionId);
      this.hosted.delete(sessionId);
      if (hosted) await this.discard(hosted.sandbox, hosted.hold);
    });
  }

  /**
   * Gives the session's container up at once (its run was abandoned frozen): it is removed, never
   * thawed; the session's next execution here, if any, gets a new container.
   */
  async drop(sessionId: string, reason: string): Promise<void> {
    const hosted = this.hosted.get(sessionId);
    if (!hosted) return;
    hosted.sandbox.detach();
    this.log.warn({ session_id: sessionId, container_id: hosted.sandbox.containerId, reason }, 'removing the frozen container');
    await this.runtime.remove(hosted.sandbox.containerId).catch((e) => this.log.warn({ session_id: sessionId, err: e }, 'cannot remove the abandoned container'));
  }

  /** Stops talking to every session container without touching it (shutdown: a restart re-attaches). */
  detachAll(): void {
    for (const { sandbox } of this.hosted.values()) sandbox.detach();
    this.hosted.clear();
  }

  private async bind(session: Session): Promise<Placement> {
    const template = await this.templates.get(session.templateId);
    if (!template) return this.fail(session, 'template_missing', `template '${session.templateId}' does not exist`);
    let claimed: (Held & { warm: boolean }) | null;
    const t0 = Date.now();
    try {
      claimed = await inSpan('sandbox.claim', { 'sandbox.template_id': template.id }, async (span) => {
        const c = await this.claim(template, session);
        span.setAttributes({ 'sandbox.warm': c?.warm ?? false, 'sandbox.container_id': c?.sandbox.containerId ?? '' });
        return c;
      });
    } catch (e) {
      const code = startFailureKind(e) === 'image_missing' ? 'image_missing' : 'start_failed';
      return this.fail(session, code, `cannot start a container from image '${template.image}': ${(e as Error).message}`);
    }
    if (!claimed) return { kind: 'full' };
    const { sandbox, hold, warm } = claimed;
    this.placing.add(sandbox.containerId);
    try {
      if (!(await this.sessions.bind(session.id, this.config.NODE_ID, sandbox.containerId, bindSession))) {
        // another node won the race (I1): a warm container goes back to the pool, a cold one is removed
        await (warm ? this.pool.release({ sandbox, hold }) : this.discard(sandbox, hold));
        const now = await this.sessions.findById(session.id);
        if (!now || !isSessionLive(now.status) || !now.runtimeNode) return { kind: 'ended' };
        return now.runtimeNode === this.config.NODE_ID ? { kind: 'here' } : { kind: 'elsewhere', node: now.runtimeNode };
      }
      this.hosted.set(session.id, { sandbox, hold, template, workspace: freshWorkspace() });
    } finally {
      this.placing.delete(sandbox.containerId);
    }
    // a name for operators only: `docker ps` says whose it is
    this.runtime.assign(sandbox.containerId, session.id).catch((e) => this.log.debug({ session_id: session.id, err: e }, 'container not renamed'));
    (warm ? this.metrics.warmStart : this.metrics.coldStart).observe({ template: template.id }, (Date.now() - t0) / 1000);
    if (session.placementRequestedAt) this.metrics.placementWait.observe(Math.max(0, Date.now() - session.placementRequestedAt.getTime()) / 1000);
    this.log.info({ session_id: session.id, template_id: template.id, container_id: sandbox.containerId, warm, duration_ms: Date.now() - t0 }, 'session placed');
    return { kind: 'here' };
  }

  /**
   * A container for the session and its share of the budget: a warm one when its resources are the
   * template's own, else one started to its limits once they fit (idle warm containers give way).
   * Null when the node has no room.
   */
  private async claim(template: Template, session: Session): Promise<(Held & { warm: boolean }) | null> {
    if (this.budget.sessionsFull) return null;
    const warm = fitsWarmPool(template, session) ? this.pool.take(template) : null;
    if (warm) return { ...warm, warm: true };
    const spec = sandboxSpec(this.config, template, session);
    const footprint = footprintOf(spec);
    // warm containers are removed only when that makes room
    if (!this.budget.fitsWithoutPool(footprint)) return null;
    let hold: Hold | null;
    while (!(hold = this.budget.tryHold(footprint, true)) && (await this.pool.evictOne()));
    if (!hold) return null;
    try {
      return { sandbox: await this.coldStart(session.id, spec), hold, warm: false };
    } catch (e) {
      hold.release();
      throw e;
    }
  }

  private async coldStart(sessionId: string, spec: SandboxSpec): Promise<Sandbox> {
    const sandbox = await startWithRetry(
      () => this.runtime.create(spec),
      (err, attempt) => this.log.warn({ session_id: sessionId, err, attempt }, 'cannot start the container yet, retrying'),
    );
    this.templates.noteRuntimes(spec.templateId, spec.image, sandbox.runtimes);
    return sandbox;
  }

  private async fail(session: Session, code: SessionErrorCode, error: string): Promise<Placement> {
    this.log.error({ session_id: session.id, template_id: session.templateId, error, error_code: code }, 'session placement failed');
    await this.sessions.transition(session.id, failSession, { error: error.slice(0, 1024), errorCode: code });
    await this.executions.cancelPending(session.id, `session failed: ${error}`);
    return { kind: 'ended' };
  }

  private async discard(sandbox: Sandbox, hold?: Hold): Promise<void> {
    sandbox.detach();
    try {
      await this.runtime.remove(sandbox.containerId);
    } finally {
      hold?.release();
    }
  }
}
