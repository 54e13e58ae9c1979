import { Inject, Injectable } from '@nestjs/common';
import { canAccess, formatBytes, isSessionLive, type Principal, tenantFilter, LIMITS, parseBytes, parseCpu, type Session, sessionPrefix, type Template, terminateSession } from '@sandbox/domain';
import { ExecutionRepository, type Idempotency, type Page, SessionRepository, TemplateRepository } from '@sandbox/persistence';
import { QueueProducer } from '@sandbox/queue';
import { WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { annotateSpan, currentTraceparent } from '@sandbox/telemetry';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane-config';
import { ApiError } from '../http/api-error';
import { isDuplicateKey, replay } from '../http/idempotency';
import { newId } from '../ids';
import { type CreateSessionDto, type ListSessionsQueryDto } from './session.dto';

@Injectable()
export class SessionsService {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly templates: TemplateRepository,
    private readonly producer: QueueProducer,
    @Inject(WORKSPACE_STORE) private readonly store: WorkspaceStore,
    @InjectPinoLogger(SessionsService.name) private readonly log: PinoLogger,
  ) {}

  /**
   * Stores the session `creating` for the caller's tenant (within its cap of live sessions) and asks
   * any node with room to place it. A retry with the same Idempotency-Key gets the same session.
   */
  async create(dto: CreateSessionDto, who: Principal, idem: Idempotency | null): Promise<{ session: Session; replayed: boolean }> {
    const prior = idem && (await this.sessions.findByIdempotencyKey(who.tenant, idem.key));
    if (prior) return { session: replay(prior, prior.session, idem), replayed: true };
    const template = await this.templates.findById(dto.template_id);
    if (!template) {
      const known = (await this.templates.findAll()).map((t) => t.id);
      throw new ApiError(422, 'unknown_template', `template '${dto.template_id}' does not exist; available: ${known.join(', ')}`, [
        { field: 'template_id', message: 'unknown template' },
      ]);
    }
    checkResources(template, dto.resources);
    const id = newId('sess');
    let liveCount: number | null;
    try {
      liveCount = await this.sessions.insertWithinCap(
        {
          id,
          templateId: template.id,
          tenant: who.tenant,
          idempotency: idem,
          traceParent: currentTraceparent(),
          runtimeType: this.config.RUNTIME_MODE,
          envVars: dto.env_vars ?? {},
          timeout: dto.timeout ?? LIMITS.sessionTimeoutSeconds.default,
          resources: {
            cpu: dto.resources?.cpu ?? template.defaultResources.cpu,
            memory: dto.resources?.memory ?? template.defaultResources.memory,
            disk: dto.resources?.disk ?? template.defaultResources.disk,
          },
          workspacePath: this.store.uri(sessionPrefix(id)),
        },
        this.config.TENANT_MAX_SESSIONS,
      );
    } catch (e) {
      // the same key raced in from another request: that one created it
      const raced = idem && isDuplicateKey(e) ? await this.sessions.findByIdempotencyKey(who.tenant, idem.key) : null;
      if (raced && idem) return { session: replay(raced, raced.session, idem), replayed: true };
      throw e;
    }
    if (liveCount !== null) {
      throw new ApiError(
        429,
        'too_many_sessions',
        `tenant '${who.tenant}' holds ${liveCount} live sessions, its maximum; terminate one (DELETE /v1/sessions/{id}) or wait for one to end`,
        [{ message: `at most ${this.config.TENANT_MAX_SESSIONS} live sessions`, limit: this.config.TENANT_MAX_SESSIONS }],
        { 'Retry-After': '10' },
      );
    }
    // read before the job goes out: the answer is the `creating` row, not whatever a node made of it since
    const accepted = (await this.sessions.findById(id))!;
    try {
      await this.producer.add('shared', 'place-session', { session_id: id }, { jobId: `place-${id}` });
    } catch (e) {
      // nothing was promised yet: take the row back rather than leave a session nobody will place
      await this.sessions.delete(id);
      this.log.error({ session_id: id, err: e }, 'cannot enqueue placement');
      throw ApiError.unavailable('queue_unavailable', 'the work queue is not reachable; retry shortly');
    }
    annotateSpan({ 'sandbox.session_id': id, 'sandbox.template_id': template.id });
    this.log.info({ session_id: id, template_id: template.id, tenant: who.tenant }, 'session created');
    return { session: accepted, replayed: false };
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
    await this.executions.failPending(id, 'the session was terminated before the execution started');
    const after = await this.get(id, who);
    if (after.runtimeNode && isSessionLive(before.status)) {
      await this.producer
        .add('node', 'terminate-session', { session_id: id }, { nodeId: after.runtimeNode, jobId: `terminate-${id}` })
        // the session is ended either way; its container is then removed by the orphan sweep
        .catch((e) => this.log.error({ session_id: id, err: e }, 'cannot enqueue container removal'));
    }
    this.log.info({ session_id: id, runtime_node: after.runtimeNode }, 'session terminated');
    return { before, after };
  }
}

/** A session may ask for resources up to its template's maximums: 422 naming the allowed range otherwise. */
function checkResources(template: Template, asked: CreateSessionDto['resources']): void {
  const bad: { field: string; message: string }[] = [];
  const check = (field: 'cpu' | 'memory' | 'disk', value: string | undefined, max: string | undefined, parse: (v: string) => number, show: (n: number) => string, min: number) => {
    if (value === undefined || max === undefined || parse(value) <= parse(max)) return;
    bad.push({ field: `resources.${field}`, message: `'${value}' is more than template '${template.id}' allows (allowed: ${show(min)} to ${max})` });
  };
  check('cpu', asked?.cpu, template.limits.max_cpu, parseCpu, (n) => `${n / 1e9}`, 1e7);
  check('memory', asked?.memory, template.limits.max_memory, parseBytes, formatBytes, LIMITS.memoryBytes.min);
  check('disk', asked?.disk, template.limits.max_disk, parseBytes, formatBytes, LIMITS.diskBytes.min);
  if (bad.length) throw ApiError.validation(bad);
}
