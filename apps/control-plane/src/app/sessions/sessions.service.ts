import { Inject, Injectable } from '@nestjs/common';
import { admitAtDoor, admitResources, canAccess, isSessionLive, isWaitingForPlacement, LIMITS, type Principal, type Session, sessionPrefix, type Template, tenantFilter, terminateSession } from '@sandbox/domain';
import { ExecutionRepository, type Idempotency, type Page, SessionRepository, TemplateRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { annotateSpan, currentTraceparent } from '@sandbox/telemetry';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { accept } from '../http/accept';
import { ApiError } from '../http/api-error';
import { newId } from '../ids';
import { ControlPlaneMetrics } from '../metrics/control-plane.metrics';
import { type CreateSessionDto, type ListSessionsQueryDto, type PlacementView } from './session.dto';

@Injectable()
export class SessionsService {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly templates: TemplateRepository,
    private readonly doorbells: Doorbells,
    @Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore,
    private readonly metrics: ControlPlaneMetrics,
    @InjectPinoLogger(SessionsService.name) private readonly log: PinoLogger,
  ) {}

  /**
   * Stores the session `creating` for the caller's tenant (within its cap of live sessions) and asks
   * any node with room to place it. A retry with the same Idempotency-Key gets the same session.
   */
  async create(dto: CreateSessionDto, who: Principal, idem: Idempotency | null): Promise<{ session: Session; replayed: boolean }> {
    const id = newId('sess');
    const max = this.config.TENANT_MAX_SESSIONS;
    const { row, replayed } = await accept(
      idem,
      {
        prior: async (key) => {
          const p = await this.sessions.findByIdempotencyKey(who.tenant, key);
          return p && { row: p.session, requestHash: p.requestHash };
        },
        admit: () => this.admit(dto),
        insert: ({ template, resources }) =>
          this.sessions.insertWithinCap(
            {
              id,
              templateId: template.id,
              tenant: who.tenant,
              idempotency: idem,
              traceParent: currentTraceparent(),
              runtimeType: this.config.RUNTIME_MODE,
              envVars: dto.env_vars ?? {},
              timeout: dto.timeout ?? LIMITS.sessionTimeoutSeconds.default,
              resources,
              workspacePath: this.store.uri(sessionPrefix(id)),
            },
            max,
          ),
        overCap: (n) =>
          new ApiError(
            429,
            'too_many_sessions',
            `tenant '${who.tenant}' holds ${n} live sessions, its maximum; terminate one (DELETE /v1/sessions/{id}) or wait for one to end`,
            [{ message: `at most ${max} live sessions`, limit: max }],
            { 'Retry-After': '10' },
          ),
        read: async () => (await this.sessions.findById(id))!,
        enqueue: () => this.doorbells.placement(id),
        rollback: () => this.sessions.delete(id),
      },
      this.log,
      { session_id: id },
    );
    if (!replayed) {
      annotateSpan({ 'sandbox.session_id': id, 'sandbox.template_id': row.templateId });
      this.log.info({ session_id: id, template_id: row.templateId, tenant: who.tenant }, 'session created');
    }
    return { session: row, replayed };
  }

  /** How a session in the placement queue is shown: with its position when asked (one more query). */
  async placementView(s: Session, withPosition: boolean): Promise<PlacementView> {
    const position = withPosition && isWaitingForPlacement(s) ? ((await this.sessions.queuePlace(s.id, this.config.PLACEMENT_TIMEOUT_SECONDS))?.position ?? null) : null;
    return { position, placementTimeoutSeconds: this.config.PLACEMENT_TIMEOUT_SECONDS };
  }

  /** The session if the caller may see it; another tenant's session is as unknown as a missing one (404). */
  async get(id: string, who: Principal): Promise<Session> {
    const s = id.length <= 64 ? await this.sessions.findById(id) : null;
    if (!s || !canAccess(who, s.tenant)) throw ApiError.notFound('session', id);
    return s;
  }

  list(query: ListSessionsQueryDto, who: Principal): Promise<Page<Session>> {
    return this.sessions.list({ ...query, tenant: tenantFilter(who) });
  }

  /** Ends the session; its node stops what runs and removes the container. Idempotent. */
  async terminate(id: string, who: Principal): Promise<{ before: Session; after: Session }> {
    const before = await this.get(id, who);
    if (isSessionLive(before.status)) await this.sessions.transition(id, terminateSession);
    await this.executions.cancelPending(id, 'the session was terminated before the execution started');
    const after = await this.get(id, who);
    if (after.runtimeNode && isSessionLive(before.status)) {
      await this.doorbells
        .termination(id, after.runtimeNode)
        // the session is ended either way; its container is then removed by the orphan sweep
        .catch((e) => this.log.error({ session_id: id, err: e }, 'cannot enqueue container removal'));
    }
    this.log.info({ session_id: id, runtime_node: after.runtimeNode }, 'session terminated');
    return { before, after };
  }

  /**
   * Counts as activity on a live session, and sets its idle timeout when `timeout` is given (from now
   * on); 409 `session_ended` for an ended one. The session as it is now.
   */
  async keepAlive(id: string, who: Principal, timeout?: number): Promise<Session> {
    const before = await this.get(id, who);
    if (!(await this.sessions.keepAlive(id, timeout))) {
      const now = await this.get(id, who);
      throw new ApiError(409, 'session_ended', `session '${id}' is ${now.status}: an ended session cannot be kept alive; create a new session`);
    }
    if (timeout !== undefined && timeout !== before.timeout) this.log.info({ session_id: id, timeout, was: before.timeout }, 'session idle timeout changed');
    return this.get(id, who);
  }

  /** A session of a known template, within its resource maximums (422 naming what is allowed). */
  private async admit(dto: CreateSessionDto): Promise<{ template: Template; resources: Session['resources'] }> {
    const template = await this.templates.findByIdCached(dto.template_id);
    if (!template) {
      const known = (await this.templates.findAll()).map((t) => t.id);
      throw new ApiError(422, 'unknown_template', `template '${dto.template_id}' does not exist; available: ${known.join(', ')}`, [
        { field: 'template_id', message: 'unknown template' },
      ]);
    }
    const admission = admitResources(template, dto.resources);
    if (!admission.ok) throw ApiError.refused(admission.refusals);
    await this.admitCapacity();
    return { template, resources: admission.value };
  }

  /** 503 `capacity_exhausted` when the placement queue could not place one more session within the timeout (domain admitAtDoor). */
  private async admitCapacity(): Promise<void> {
    const timeout = this.config.PLACEMENT_TIMEOUT_SECONDS;
    const verdict = admitAtDoor(await this.sessions.backlog(this.config.STALE_AFTER_SECONDS), timeout);
    if (verdict.admit) return;
    this.metrics.sessionsRejected.inc({ reason: 'capacity_exhausted' });
    throw ApiError.unavailable(
      'capacity_exhausted',
      `no runtime node can take a new session within ${timeout} s: ${verdict.reason}; retry later`,
      verdict.retryAfterSeconds,
    );
  }
}
