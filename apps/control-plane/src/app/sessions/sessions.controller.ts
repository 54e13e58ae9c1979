import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { isSessionLive, type Principal } from '@sandbox/domain';
import { type Request, type Response } from 'express';
import { AuditService } from '../audit/audit.service';
import { CurrentPrincipal } from '../http/access.decorators';
import { IDEMPOTENCY_HEADER, idempotencyOf, markReplayed } from '../http/idempotency';
import { CreateSessionDto, ListSessionsQueryDto, SessionPageDto, SessionResponseDto, sessionToResponse, UpdateSessionDto } from './session.dto';
import { ControlPlaneMetrics } from '../metrics/control-plane.metrics';
import { SessionsService } from './sessions.service';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('v1/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly metrics: ControlPlaneMetrics,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiCreatedResponse({ type: SessionResponseDto, description: "the session, `creating` until a node places it; 429 at the tenant's cap of live sessions; 503 `capacity_exhausted` (Retry-After) when no node could take it within PLACEMENT_TIMEOUT_SECONDS" })
  @ApiOperation({ summary: 'Create a session from a template' })
  async create(
    @Body() body: CreateSessionDto,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { session, replayed } = await this.sessions.create(body, who, idempotencyOf(key, body));
    markReplayed(res, replayed);
    if (!replayed) {
      this.metrics.sessionsCreated.inc({ template: session.templateId });
      await this.audit.record(who, req, 'session.create', { type: 'session', id: session.id }, { template_id: session.templateId });
    }
    return sessionToResponse(session, await this.sessions.placementView(session, false));
  }

  @Get()
  @ApiOkResponse({ type: SessionPageDto, description: "newest first; the caller's tenant only (admin keys: all)" })
  @ApiOperation({ summary: 'List sessions' })
  async list(@Query() query: ListSessionsQueryDto, @CurrentPrincipal() who: Principal) {
    const page = await this.sessions.list(query, who);
    const items = await Promise.all(page.items.map(async (s) => sessionToResponse(s, await this.sessions.placementView(s, false))));
    return { items, next_cursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOkResponse({ type: SessionResponseDto })
  @ApiOperation({ summary: 'Get a session' })
  async get(@Param('id') id: string, @CurrentPrincipal() who: Principal) {
    const session = await this.sessions.get(id, who);
    return sessionToResponse(session, await this.sessions.placementView(session, true));
  }

  @Patch(':id')
  @ApiOkResponse({ type: SessionResponseDto, description: 'the session with its new idle timeout, counted from now; 409 `session_ended` once it has ended' })
  @ApiOperation({ summary: "Change a session's idle timeout" })
  async update(@Param('id') id: string, @Body() body: UpdateSessionDto, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const session = await this.sessions.keepAlive(id, who, body.timeout);
    await this.audit.record(who, req, 'session.update', { type: 'session', id }, { timeout: body.timeout });
    return sessionToResponse(session, await this.sessions.placementView(session, false));
  }

  @Post(':id/keepalive')
  @HttpCode(200)
  @ApiOkResponse({ type: SessionResponseDto, description: 'counts as activity: the idle timeout starts again from now; 409 `session_ended` once it has ended' })
  @ApiOperation({ summary: 'Keep a session alive' })
  async keepAlive(@Param('id') id: string, @CurrentPrincipal() who: Principal) {
    const session = await this.sessions.keepAlive(id, who);
    return sessionToResponse(session, await this.sessions.placementView(session, false));
  }

  @Delete(':id')
  @ApiOkResponse({ type: SessionResponseDto, description: 'the session, `terminated` (or as it ended before)' })
  @ApiOperation({ summary: 'Terminate a session' })
  async terminate(@Param('id') id: string, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const { before, after } = await this.sessions.terminate(id, who);
    await this.audit.record(who, req, 'session.terminate', { type: 'session', id }, null, isSessionLive(before.status) ? 'ok' : `already_${before.status}`);
    return sessionToResponse(after, await this.sessions.placementView(after, false));
  }
}
