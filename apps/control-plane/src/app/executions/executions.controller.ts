import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { isOutputEntryId } from '@sandbox/queue';
import { isExecutionTerminal, type Principal } from '@sandbox/domain';
import { type Response } from 'express';
import {
  CreateExecutionDto,
  CreateExecutionQueryDto,
  ExecutionEventsQueryDto,
  ExecutionPageDto,
  ExecutionResponseDto,
  executionToResponse,
  executionToSummary,
  GetExecutionQueryDto,
  ListExecutionsQueryDto,
} from './execution.dto';
import { CurrentPrincipal } from '../http/access.decorators';
import { FilesService } from '../files/files.service';
import { sendDownload } from '../files/send-download';
import { ApiError } from '../http/api-error';
import { IDEMPOTENCY_HEADER, idempotencyOf, markReplayed } from '../http/idempotency';
import { sendEvents } from '../http/server-sent-events';
import { ExecutionStreamService } from './execution-stream.service';
import { ExecutionsService } from './executions.service';

@ApiTags('executions')
@ApiBearerAuth()
@Controller('v1')
export class ExecutionsController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly stream: ExecutionStreamService,
    private readonly files: FilesService,
  ) {}

  @Post('sessions/:id/executions')
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiAcceptedResponse({ type: ExecutionResponseDto, description: '`pending`; with wait, still not ended when the wait ran out' })
  @ApiOkResponse({
    description: 'with wait: the execution once it ended; with stream=true: text/event-stream, the events of GET /v1/executions/{id}/events',
    content: { 'application/json': { schema: { $ref: getSchemaPath(ExecutionResponseDto) } }, 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiOperation({ summary: 'Run code in a session' })
  async create(
    @Param('id') sessionId: string,
    @Body() body: CreateExecutionDto,
    @Query() query: CreateExecutionQueryDto,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const waiting = (query.wait || query.wait_ms !== undefined) && !query.stream;
    // a client that hangs up stops the wait, not the execution
    const gone = new AbortController();
    if (waiting) res.on('close', () => res.writableFinished || gone.abort());
    const created = await this.executions.create(sessionId, body, who, idempotencyOf(key, body), waiting ? { wait: { ms: query.wait_ms, clientGone: gone.signal } } : {});
    markReplayed(res, created.replayed);
    const execution = created.execution;
    if (query.stream) {
      res.location(`/v1/executions/${execution.id}`);
      return sendEvents(res, (gone) => this.stream.events(execution, null, gone));
    }
    const inline = query.inline ? await this.files.inline(execution) : undefined;
    res.status(isExecutionTerminal(execution.status) ? 200 : 202).json(executionToResponse(execution, inline));
  }

  @Get('executions/:id/events')
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'resume after this event: the rest comes, nothing twice' })
  @ApiOkResponse({
    description:
      'Server-Sent Events: `execution` (as it is now), `attempt` ({attempt}: output of an earlier attempt is void), `stdout` and `stderr` ({data}: text, or base64 with encoding base64; with ids), then `result` (the execution as GET answers it), and the stream ends',
  })
  @ApiOperation({ summary: "Stream an execution's output (Server-Sent Events)" })
  async events(
    @Param('id') id: string,
    @Query() query: ExecutionEventsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const after = lastEventId ?? query.last_event_id ?? null;
    if (after !== null && !isOutputEntryId(after)) {
      throw ApiError.validation([{ field: 'Last-Event-ID', message: 'the id of an event of this stream, e.g. "1765432100000-0"' }]);
    }
    const execution = await this.executions.get(id, who);
    await sendEvents(res, (gone) => this.stream.events(execution, after, gone));
  }

  @Get('executions/:id')
  @ApiOkResponse({ type: ExecutionResponseDto })
  @ApiOperation({ summary: 'Get an execution' })
  async get(@Param('id') id: string, @Query() query: GetExecutionQueryDto, @CurrentPrincipal() who: Principal) {
    const execution = await this.executions.get(id, who);
    return executionToResponse(execution, query.inline ? await this.files.inline(execution) : undefined);
  }

  @Post('executions/:id/cancel')
  @ApiOkResponse({ type: ExecutionResponseDto, description: 'ended: `failed` with reason `cancelled` (a pending one never runs), or as it had ended before; idempotent' })
  @ApiAcceptedResponse({ type: ExecutionResponseDto, description: 'still `running`: its node is stopping it, and it ends `failed` (`cancelled`) with the usage so far' })
  @ApiOperation({ summary: 'Cancel an execution' })
  async cancel(@Param('id') id: string, @CurrentPrincipal() who: Principal, @Res({ passthrough: true }) res: Response) {
    const execution = await this.executions.cancel(id, who);
    res.status(isExecutionTerminal(execution.status) ? 200 : 202);
    return executionToResponse(execution);
  }

  @Get('sessions/:id/executions')
  @ApiOkResponse({ type: ExecutionPageDto, description: 'newest first' })
  @ApiOperation({ summary: "List a session's executions" })
  async list(@Param('id') sessionId: string, @Query() query: ListExecutionsQueryDto, @CurrentPrincipal() who: Principal) {
    const page = await this.executions.listBySession(sessionId, query, who);
    return { items: page.items.map(executionToSummary), next_cursor: page.nextCursor };
  }

  @Get('executions/:id/results/:index/*mime')
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: "a rich result's representation too large to keep inline (its `stored` url), as a download of its MIME type" })
  @ApiOperation({ summary: "Download a rich result's stored representation" })
  async result(@Param('id') id: string, @Param('index') index: string, @Param('mime') mime: string[], @CurrentPrincipal() who: Principal, @Res() res: Response) {
    await sendDownload(res, await this.files.result(await this.executions.get(id, who), Number(index), mime.join('/')));
  }

  @Get('executions/:id/artifacts/*path')
  @ApiTags('files')
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'the file as the execution stored it (410 when replaced since)' })
  @ApiOperation({ summary: 'Download an artifact of an execution' })
  async artifact(@Param('id') id: string, @Param('path') path: string[], @CurrentPrincipal() who: Principal, @Res() res: Response) {
    await sendDownload(res, await this.files.artifact(who, await this.executions.get(id, who), path.join('/')));
  }
}
