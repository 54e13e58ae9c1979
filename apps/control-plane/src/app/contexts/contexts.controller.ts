import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Principal } from '@sandbox/domain';
import { CurrentPrincipal } from '../http/access.decorators';
import { ContextListDto, ContextResponseDto, contextToResponse, CreateContextDto } from './context.dto';
import { ContextsService, type ContextView } from './contexts.service';

const toResponse = (v: ContextView) => contextToResponse(v.context, v.status);

@ApiTags('contexts')
@ApiBearerAuth()
@Controller('v1/sessions/:id/contexts')
export class ContextsController {
  constructor(private readonly contexts: ContextsService) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({
    type: ContextResponseDto,
    description: 'a persistent interpreter in the session\'s sandbox, started by its first cell: executions with its `context_id` share its variables and return their last expression\'s value; 409 `too_many_contexts` past 16',
  })
  @ApiOperation({ summary: 'Create an interpreter context' })
  async create(@Param('id') sessionId: string, @Body() body: CreateContextDto, @CurrentPrincipal() who: Principal) {
    return toResponse(await this.contexts.create(sessionId, body, who));
  }

  @Get()
  @ApiOkResponse({ type: ContextListDto })
  @ApiOperation({ summary: "List a session's contexts" })
  async list(@Param('id') sessionId: string, @CurrentPrincipal() who: Principal) {
    return { items: (await this.contexts.list(sessionId, who)).map(toResponse) };
  }

  @Get(':cid')
  @ApiOkResponse({ type: ContextResponseDto })
  @ApiOperation({ summary: 'Get a context' })
  async get(@Param('id') sessionId: string, @Param('cid') contextId: string, @CurrentPrincipal() who: Principal) {
    return toResponse(await this.contexts.get(sessionId, contextId, who));
  }

  @Post(':cid/restart')
  @HttpCode(200)
  @ApiOkResponse({ type: ContextResponseDto, description: 'its cells queued or running are cancelled; the next cell runs in a fresh interpreter (generation + 1)' })
  @ApiOperation({ summary: "Restart a context's interpreter" })
  async restart(@Param('id') sessionId: string, @Param('cid') contextId: string, @CurrentPrincipal() who: Principal) {
    return toResponse(await this.contexts.restart(sessionId, contextId, who));
  }

  @Delete(':cid')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'its cells queued or running are cancelled and its interpreter stopped' })
  @ApiOperation({ summary: 'Delete a context' })
  async remove(@Param('id') sessionId: string, @Param('cid') contextId: string, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.contexts.remove(sessionId, contextId, who);
  }
}
