import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { isExecutionTerminal } from '@sandbox/domain';
import { type Response } from 'express';
import {
  CreateExecutionDto,
  CreateExecutionQueryDto,
  ExecutionPageDto,
  ExecutionResponseDto,
  executionToResponse,
  executionToSummary,
  GetExecutionQueryDto,
  ListExecutionsQueryDto,
} from './execution.dto';
import { FilesService } from '../files/files.service';
import { ExecutionWaiterService } from './execution-waiter.service';
import { ExecutionsService } from './executions.service';

@ApiTags('executions')
@Controller('v1')
export class ExecutionsController {
  constructor(
    private readonly executions: ExecutionsService,
    private readonly waiter: ExecutionWaiterService,
    private readonly files: FilesService,
  ) {}

  @Post('sessions/:id/executions')
  @ApiAcceptedResponse({ type: ExecutionResponseDto, description: '`pending`; with wait: 200 once terminal, 202 if the wait ran out first' })
  async create(
    @Param('id') sessionId: string,
    @Body() body: CreateExecutionDto,
    @Query() query: CreateExecutionQueryDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    let execution = await this.executions.create(sessionId, body);
    if (query.wait || query.wait_ms !== undefined) {
      // a client that hangs up stops the wait, not the execution
      const gone = new AbortController();
      res.on('close', () => res.writableFinished || gone.abort());
      execution = await this.waiter.waitForTerminal(execution.id, this.executions.waitBudgetMs(execution, query.wait_ms), gone.signal);
    }
    res.status(isExecutionTerminal(execution.status) ? 200 : 202);
    return executionToResponse(execution, query.inline ? await this.files.inline(execution) : undefined);
  }

  @Get('executions/:id')
  @ApiOkResponse({ type: ExecutionResponseDto })
  async get(@Param('id') id: string, @Query() query: GetExecutionQueryDto) {
    const execution = await this.executions.get(id);
    return executionToResponse(execution, query.inline ? await this.files.inline(execution) : undefined);
  }

  @Get('sessions/:id/executions')
  @ApiOkResponse({ type: ExecutionPageDto, description: 'newest first' })
  async list(@Param('id') sessionId: string, @Query() query: ListExecutionsQueryDto) {
    const page = await this.executions.listBySession(sessionId, query);
    return { items: page.items.map(executionToSummary), next_cursor: page.nextCursor };
  }
}
