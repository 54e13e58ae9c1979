import { Inject, Injectable } from '@nestjs/common';
import { admitExecution, canAccess, canonicalLanguage, CLIENT_CANCEL, contextStatus, DEFAULT_COMPARE, LIMITS, type Execution, type ExecutionSettings, isSessionLive, type Principal, type Session, type WebhookFormat } from '@sandbox/domain';
import { ExecutionRepository, type Idempotency, InterpreterContextRepository, type Page, type PageQuery, SessionRepository, TemplateRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { annotateSpan, currentTraceparent } from '@sandbox/telemetry';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { accept } from '../http/accept';
import { ApiError } from '../http/api-error';
import { newId } from '../ids';
import { SessionsService } from '../sessions/sessions.service';
import { type CreateExecutionDto, inputFilesOf } from './execution.dto';
import { ExecutionWaiterService } from './execution-waiter.service';

const testCasesOf = (dto: CreateExecutionDto) => dto.test_cases?.map((c) => ({ stdin: c.stdin, expected_output: c.expected_output ?? null, args: c.args ?? null, timeout: c.timeout ?? null })) ?? null;

@Injectable()
export class ExecutionsService {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly sessionsService: SessionsService,
    private readonly sessions: SessionRepository,
    private readonly executions: ExecutionRepository,
    private readonly templates: TemplateRepository,
    private readonly contexts: InterpreterContextRepository,
    private readonly doorbells: Doorbells,
    private readonly waiter: ExecutionWaiterService,
    @InjectPinoLogger(ExecutionsService.name) private readonly log: PinoLogger,
  ) {}

  /**
   * Stores the execution `pending` and rings the doorbell of the node holding its session (or of the
   * shared queue while the session is unplaced). A retry with the same Idempotency-Key gets the same
   * execution; past SESSION_MAX_PENDING queued ones the answer is 429. With `wait`, the answer is the
   * execution once it ended (or as it is when the wait runs out): the doorbell rings right after the
   * insert, and the row is read only when it may have ended.
   */
  async create(
    sessionId: string,
    dto: CreateExecutionDto,
    who: Principal,
    idem: Idempotency | null,
    how: { webhookFormat?: WebhookFormat; wait?: { ms?: number; clientGone: AbortSignal } } = {},
  ): Promise<{ execution: Execution; replayed: boolean }> {
    const session = await this.sessionsService.get(sessionId, who);
    const id = newId('exec');
    const max = this.config.SESSION_MAX_PENDING;
    let admitted: ExecutionSettings | undefined;
    const steps = {
      prior: async (key: string) => {
        const p = await this.executions.findByIdempotencyKey(sessionId, key);
        return p && { row: p.execution, requestHash: p.requestHash };
      },
      admit: async () => (admitted = await this.admit(session, dto)),
      insert: (settings: ExecutionSettings) =>
        this.executions.insertWithinCap(
          {
            id,
            sessionId,
            code: dto.code,
            stdin: dto.stdin ?? null,
            envVars: dto.env ?? null,
            args: dto.args ?? null,
            encoding: dto.encoding ?? 'utf8',
            inputFiles: inputFilesOf(dto),
            contextId: dto.context_id ?? null,
            collect: dto.collect ?? null,
            testCases: testCasesOf(dto),
            compare: dto.test_cases ? (dto.compare ?? DEFAULT_COMPARE) : null,
            callbackUrl: dto.callback_url ?? null,
            webhookFormat: how.webhookFormat ?? null,
            ...settings,
            idempotency: idem,
            traceParent: currentTraceparent(),
          },
          max,
        ),
      overCap: (n: number) =>
        new ApiError(429, 'too_many_pending', `session '${sessionId}' has ${n} executions waiting to run, its maximum; wait for some to finish`, [{ message: `at most ${max} pending executions per session`, limit: max }], {
          'Retry-After': '1',
        }),
      enqueue: () => this.doorbells.execution({ id, sessionId, attempt: 1 }, session.runtimeNode),
      rollback: () => this.executions.delete(id),
    };
    const fields = { session_id: sessionId, execution_id: id };
    const accepted = (replayed: boolean) => {
      if (replayed) return;
      annotateSpan({ 'sandbox.session_id': sessionId, 'sandbox.execution_id': id, 'sandbox.template_id': session.templateId });
      this.log.info({ ...fields, template_id: session.templateId, runtime_node: session.runtimeNode }, 'execution accepted');
    };
    if (!how.wait) {
      // the session's activity is recorded meanwhile (idle expiry counts from the last execution)
      const read = async () => (await Promise.all([this.executions.findById(id), this.sessions.touch(sessionId)]))[0]!;
      const { row, replayed } = await accept(idem, { ...steps, read }, this.log, fields);
      accepted(replayed);
      return { execution: row, replayed };
    }
    const { row, replayed } = await accept(idem, { ...steps, read: null }, this.log, fields);
    accepted(replayed);
    if (!row) await this.sessions.touch(sessionId).catch((e) => this.log.warn({ ...fields, err: e }, 'session activity not recorded'));
    // a replay waits for the execution it replays, as read; a new one is pending as inserted
    const budget = this.waitBudgetMs(row ?? { timeout: admitted!.timeout, testCases: testCasesOf(dto) }, how.wait.ms);
    return { execution: await this.waiter.waitForTerminal(row ?? id, budget, how.wait.clientGone), replayed };
  }

  /** The execution if the caller may see its session; another tenant's is as unknown as a missing one (404). */
  async get(id: string, who: Principal): Promise<Execution> {
    const e = id.length <= 64 ? await this.executions.findById(id) : null;
    const owner = e && (await this.sessions.findById(e.sessionId))?.tenant;
    if (!e || !owner || !canAccess(who, owner)) throw ApiError.notFound('execution', id);
    return e;
  }

  /**
   * A client's cancel, idempotent: a pending execution ends `failed` (`cancelled`) and never runs; a
   * running one is marked (never retried after) and its node asked to stop it, after which it ends the
   * same way with what it did so far; an ended one stays as it ended. The execution as it is now.
   */
  async cancel(id: string, who: Principal): Promise<Execution> {
    await this.get(id, who);
    const done = await this.executions.cancel(id, CLIENT_CANCEL);
    const now = await this.get(id, who);
    if (done === 'requested' && now.status === 'running' && now.runtimeNode) {
      // the mark is the cancel: a lost doorbell leaves the run to its end, never to a retry
      await this.doorbells.cancellation(id, now.sessionId, now.runtimeNode).catch((e) => this.log.error({ execution_id: id, err: e }, 'cannot ask the node to stop the run'));
    }
    if (done !== 'ended') this.log.info({ execution_id: id, session_id: now.sessionId, runtime_node: now.runtimeNode, was: done === 'cancelled' ? 'pending' : 'running' }, 'execution cancel');
    return now;
  }

  /** Ids of a context's cells still pending or running. */
  unfinishedCells(sessionId: string, contextId: string): Promise<string[]> {
    return this.executions.unfinishedCells(sessionId, contextId);
  }

  async listBySession(sessionId: string, query: PageQuery, who: Principal): Promise<Page<Execution>> {
    await this.sessionsService.get(sessionId, who);
    return this.executions.listBySession(sessionId, query);
  }

  /** How long `?wait` holds a request: as asked, else the run's own limits (a compile's, every case's) plus queueing; never past WAIT_MAX_SECONDS. */
  waitBudgetMs(execution: Pick<Execution, 'timeout' | 'testCases'>, waitMs?: number): number {
    const cap = this.config.WAIT_MAX_SECONDS * 1000;
    const cases = Math.min(LIMITS.testCasesSeconds, (execution.testCases ?? []).reduce((n, c) => n + (c.timeout ?? execution.timeout), 0));
    return Math.min(waitMs ?? (execution.timeout + cases + 30) * 1000, cap);
  }

  /**
   * A cell runs in its context's language, with the context's input and environment: the context must
   * be the session's and not lost (then 409 `context_lost`: its variables are gone).
   */
  private async cellLanguage(session: Session, dto: CreateExecutionDto): Promise<string> {
    const context = await this.contexts.findById(dto.context_id!);
    if (!context || context.sessionId !== session.id) throw ApiError.notFound('context', dto.context_id!);
    if (contextStatus(context, { containerId: session.containerId, live: true }) === 'lost') {
      throw new ApiError(409, 'context_lost', `the interpreter of context '${context.id}' was lost with the sandbox it ran in: its variables are gone; create a new context`);
    }
    const notForCells = (['stdin', 'args', 'env'] as const).filter((k) => dto[k] !== undefined);
    if (notForCells.length) throw ApiError.validation(notForCells.map((field) => ({ field, message: 'not with context_id: a context keeps the input and environment of its interpreter' })));
    if (dto.language && canonicalLanguage(dto.language) !== context.language) throw ApiError.validation([{ field: 'language', message: `context '${context.id}' runs ${context.language}` }]);
    return context.language;
  }

  /** New work runs only in a live session, in a language and within limits its template allows. */
  private async admit(session: Session, dto: CreateExecutionDto): Promise<ExecutionSettings> {
    if (!isSessionLive(session.status)) throw new ApiError(409, 'session_ended', `session '${session.id}' is ${session.status}: create a new session to run code`);
    if (dto.callback_url !== undefined && !this.config.WEBHOOK_SECRET) {
      throw ApiError.validation([{ field: 'callback_url', message: 'webhooks are off on this platform: its operator sets WEBHOOK_SECRET to turn them on' }]);
    }
    const template = await this.templates.findByIdCached(session.templateId);
    if (!template) throw new ApiError(409, 'template_gone', `the template '${session.templateId}' of session '${session.id}' no longer exists: create a new session`);
    const inputFilesBytes = inputFilesOf(dto)?.reduce((n, f) => n + Buffer.byteLength(f.contentBase64, 'base64'), 0);
    const language = dto.context_id ? await this.cellLanguage(session, dto) : dto.language;
    const admission = admitExecution({ ...dto, language, inputFilesBytes, testCases: dto.test_cases }, template, { timeoutDefaultSeconds: this.config.EXECUTION_TIMEOUT_DEFAULT_SECONDS, timeoutMaxSeconds: this.config.EXECUTION_TIMEOUT_MAX_SECONDS });
    if (!admission.ok) throw ApiError.refused(admission.refusals);
    return admission.value;
  }
}
