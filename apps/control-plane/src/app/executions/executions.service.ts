import { Inject, Injectable } from '@nestjs/common';
import { canAccess, type Execution, isLanguage, isSessionLive, languagesOf, LIMITS, type Principal } from '@sandbox/domain';
import { ExecutionRepository, type Idempotency, type Page, type PageQuery, SessionRepository, TemplateRepository } from '@sandbox/persistence';
import { executionJobId, QueueProducer } from '@sandbox/queue';
import { annotateSpan, currentTraceparent } from '@sandbox/telemetry';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane-config';
import { ApiError } from '../http/api-error';
import { isDuplicateKey, replay } from '../http/idempotency';
import { newId } from '../ids';
import { SessionsService } from '../sessions/sessions.service';
import { type CreateExecutionDto } from './execution.dto';

@Injectable()
export class ExecutionsService {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly sessionsService: SessionsService,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly templates: TemplateRepository,
    private readonly producer: QueueProducer,
    @InjectPinoLogger(ExecutionsService.name) private readonly log: PinoLogger,
  ) {}

  /**
   * Stores the execution `pending` and rings the doorbell of the node holding its session (or of
   * the shared queue while the session is unplaced). The job carries ids only. A retry with the same
   * Idempotency-Key gets the same execution; past SESSION_MAX_PENDING queued ones the answer is 429.
   */
  async create(sessionId: string, dto: CreateExecutionDto, who: Principal, idem: Idempotency | null): Promise<{ execution: Execution; replayed: boolean }> {
    const session = await this.sessionsService.get(sessionId, who);
    const prior = idem && (await this.executions.findByIdempotencyKey(sessionId, idem.key));
    if (prior) return { execution: replay(prior, prior.execution, idem), replayed: true };
    if (!isSessionLive(session.status)) {
      throw new ApiError(409, 'session_ended', `session '${sessionId}' is ${session.status}: create a new session to run code`);
    }
    const codeBytes = Buffer.byteLength(dto.code);
    if (codeBytes > LIMITS.codeBytes) {
      throw new ApiError(413, 'payload_too_large', `code is ${codeBytes} bytes; the limit is ${LIMITS.codeBytes}`, [
        { field: 'code', message: `at most ${LIMITS.codeBytes} bytes`, limit: LIMITS.codeBytes, actual: codeBytes },
      ]);
    }
    const stdinBytes = dto.stdin === undefined ? 0 : Buffer.byteLength(dto.stdin);
    if (stdinBytes > LIMITS.stdinBytes) {
      throw new ApiError(413, 'payload_too_large', `stdin is ${stdinBytes} bytes; the limit is ${LIMITS.stdinBytes}`, [
        { field: 'stdin', message: `at most ${LIMITS.stdinBytes} bytes`, limit: LIMITS.stdinBytes, actual: stdinBytes },
      ]);
    }
    const template = await this.templates.findById(session.templateId);
    const allowed = template ? languagesOf(template) : [];
    const language = dto.language ?? template?.language ?? 'python';
    if (!isLanguage(language) || !allowed.includes(language)) {
      throw new ApiError(422, 'unsupported_language', `language '${language}' is not available in template '${session.templateId}'; use one of: ${allowed.join(', ')}`, [
        { field: 'language', message: `one of ${allowed.join(', ')}` },
      ]);
    }
    const max = template?.limits.timeout_max_seconds ?? this.config.EXECUTION_TIMEOUT_MAX_SECONDS;
    if (dto.timeout !== undefined && dto.timeout > max) {
      throw ApiError.validation([{ field: 'timeout', message: `at most ${max} seconds in template '${session.templateId}' (allowed: 1 to ${max})` }]);
    }
    const id = newId('exec');
    let pending: number | null;
    try {
      pending = await this.executions.insertWithinCap(
        {
          id,
          sessionId,
          code: dto.code,
          language,
          stdin: dto.stdin ?? null,
          timeout: dto.timeout ?? Math.min(template?.limits.timeout_default_seconds ?? this.config.EXECUTION_TIMEOUT_DEFAULT_SECONDS, max),
          collect: dto.collect ?? null,
          idempotency: idem,
          traceParent: currentTraceparent(),
        },
        this.config.SESSION_MAX_PENDING,
      );
    } catch (e) {
      // the same key raced in from another request: that one created it
      const raced = idem && isDuplicateKey(e) ? await this.executions.findByIdempotencyKey(sessionId, idem.key) : null;
      if (raced && idem) return { execution: replay(raced, raced.execution, idem), replayed: true };
      throw e;
    }
    if (pending !== null) {
      throw new ApiError(
        429,
        'too_many_pending',
        `session '${sessionId}' has ${pending} executions waiting to run, its maximum; wait for some to finish`,
        [{ message: `at most ${this.config.SESSION_MAX_PENDING} pending executions per session`, limit: this.config.SESSION_MAX_PENDING }],
        { 'Retry-After': '1' },
      );
    }
    // read before the job goes out: the answer is the accepted row, not whatever an agent made of it since
    const accepted = (await this.executions.findById(id))!;
    const job = { execution_id: id, session_id: sessionId, attempt: 1 };
    try {
      if (session.runtimeNode) {
        await this.producer.add('node', 'run-execution', job, { nodeId: session.runtimeNode, jobId: executionJobId(id, 1) });
      } else {
        await this.producer.add('shared', 'run-execution', job, { jobId: executionJobId(id, 1) });
      }
    } catch (e) {
      // not accepted after all: no row may stay pending without a job (I3)
      await this.executions.delete(id);
      this.log.error({ session_id: sessionId, execution_id: id, err: e }, 'cannot enqueue execution');
      throw ApiError.unavailable('queue_unavailable', 'the work queue is not reachable; retry shortly');
    }
    await this.sessions.touch(sessionId);
    annotateSpan({ 'sandbox.session_id': sessionId, 'sandbox.execution_id': id, 'sandbox.template_id': session.templateId });
    this.log.info({ session_id: sessionId, execution_id: id, template_id: session.templateId, runtime_node: session.runtimeNode }, 'execution accepted');
    return { execution: accepted, replayed: false };
  }

  /** The execution if the caller may see its session; another tenant's is as unknown as a missing one (404). */
  async get(id: string, who: Principal): Promise<Execution> {
    const e = id.length <= 64 ? await this.executions.findById(id) : null;
    const owner = e && (await this.sessions.findById(e.sessionId))?.tenant;
    if (!e || !owner || !canAccess(who, owner)) throw ApiError.notFound('execution', id);
    return e;
  }

  async listBySession(sessionId: string, query: PageQuery, who: Principal): Promise<Page<Execution>> {
    await this.sessionsService.get(sessionId, who);
    return this.executions.listBySession(sessionId, query);
  }

  /** How long `?wait` holds a request: as asked, else the run's own limit plus queueing; never past WAIT_MAX_SECONDS. */
  waitBudgetMs(execution: Execution, waitMs?: number): number {
    const cap = this.config.WAIT_MAX_SECONDS * 1000;
    return Math.min(waitMs ?? (execution.timeout + 30) * 1000, cap);
  }
}
