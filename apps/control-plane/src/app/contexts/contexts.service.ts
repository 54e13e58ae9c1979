import { Injectable } from '@nestjs/common';
import { contextStatus, type InterpreterContext, isContextLanguage, isSessionLive, languagesOf, LIMITS, type Principal, type Session } from '@sandbox/domain';
import { InterpreterContextRepository, TemplateRepository } from '@sandbox/persistence';
import { Doorbells } from '@sandbox/queue';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { ExecutionsService } from '../executions/executions.service';
import { ApiError } from '../http/api-error';
import { newId } from '../ids';
import { SessionsService } from '../sessions/sessions.service';
import { type CreateContextDto } from './context.dto';

/** A context and what it is now (lost with its sandbox, or active). */
export interface ContextView {
  readonly context: InterpreterContext;
  readonly status: 'active' | 'lost';
}

/**
 * Interpreter contexts of a session: stored here, started in the sandbox by their first cell (the
 * agent binds them to it), restarted by asking for the next generation, and stopped on delete by a
 * doorbell to the node. Their unfinished cells are cancelled by a restart or a delete.
 */
@Injectable()
export class ContextsService {
  constructor(
    private readonly sessionsService: SessionsService,
    private readonly executionsService: ExecutionsService,
    private readonly contexts: InterpreterContextRepository,
    private readonly templates: TemplateRepository,
    private readonly doorbells: Doorbells,
    @InjectPinoLogger(ContextsService.name) private readonly log: PinoLogger,
  ) {}

  async create(sessionId: string, dto: CreateContextDto, who: Principal): Promise<ContextView> {
    const session = await this.sessionsService.get(sessionId, who);
    if (!isSessionLive(session.status)) throw new ApiError(409, 'session_ended', `session '${session.id}' is ${session.status}: create a new session`);
    const template = await this.templates.findByIdCached(session.templateId);
    const allowed = (template ? languagesOf(template) : []).filter(isContextLanguage);
    const language = dto.language ?? template?.language;
    if (!language || !isContextLanguage(language) || !allowed.includes(language)) {
      throw ApiError.validation([{ field: 'language', message: `contexts of template '${session.templateId}' run ${allowed.join(' or ') || 'no language'}` }]);
    }
    const id = newId('ctx');
    const held = await this.contexts.insertWithinCap({ id, sessionId, language }, LIMITS.contextsPerSession);
    if (held !== null) throw new ApiError(409, 'too_many_contexts', `session '${sessionId}' holds ${held} contexts, its maximum: delete one first`, [{ message: `at most ${LIMITS.contextsPerSession} per session`, limit: LIMITS.contextsPerSession }]);
    this.log.info({ session_id: sessionId, context_id: id, language }, 'context created');
    return this.view(session, (await this.contexts.findById(id))!);
  }

  async list(sessionId: string, who: Principal): Promise<ContextView[]> {
    const session = await this.sessionsService.get(sessionId, who);
    return (await this.contexts.listBySession(session.id)).map((c) => this.view(session, c));
  }

  async get(sessionId: string, contextId: string, who: Principal): Promise<ContextView> {
    const session = await this.sessionsService.get(sessionId, who);
    const context = await this.contexts.findById(contextId);
    if (!context || context.sessionId !== session.id) throw ApiError.notFound('context', contextId);
    return this.view(session, context);
  }

  /** The next cell runs in a fresh interpreter; cells queued or running now are cancelled. */
  async restart(sessionId: string, contextId: string, who: Principal): Promise<ContextView> {
    const { context } = await this.get(sessionId, contextId, who);
    await this.contexts.restart(context.id);
    await this.cancelCells(context, who);
    this.log.info({ session_id: sessionId, context_id: contextId }, 'context restart');
    return this.get(sessionId, contextId, who);
  }

  async remove(sessionId: string, contextId: string, who: Principal): Promise<void> {
    const { context } = await this.get(sessionId, contextId, who);
    await this.contexts.delete(context.id);
    await this.cancelCells(context, who);
    const session = await this.sessionsService.get(sessionId, who);
    if (context.containerId && session.runtimeNode && isSessionLive(session.status)) {
      // best effort: a lost doorbell leaves the interpreter to the session's end
      await this.doorbells.contextStop(context.id, session.id, session.runtimeNode).catch((e) => this.log.warn({ context_id: context.id, err: e }, 'cannot ask the node to stop the interpreter'));
    }
    this.log.info({ session_id: sessionId, context_id: contextId }, 'context deleted');
  }

  private async cancelCells(context: InterpreterContext, who: Principal): Promise<void> {
    for (const id of await this.executionsService.unfinishedCells(context.sessionId, context.id)) await this.executionsService.cancel(id, who);
  }

  private view(session: Session, context: InterpreterContext): ContextView {
    return { context, status: contextStatus(context, { containerId: session.containerId, live: isSessionLive(session.status) }) };
  }
}
