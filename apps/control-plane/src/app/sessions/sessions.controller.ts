import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CreateSessionDto, ListSessionsQueryDto, SessionPageDto, SessionResponseDto, sessionToResponse } from './session.dto';
import { SessionsService } from './sessions.service';

@ApiTags('sessions')
@Controller('v1/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: SessionResponseDto, description: 'the session, `creating` until a node places it' })
  async create(@Body() body: CreateSessionDto) {
    return sessionToResponse(await this.sessions.create(body));
  }

  @Get()
  @ApiOkResponse({ type: SessionPageDto, description: 'newest first' })
  async list(@Query() query: ListSessionsQueryDto) {
    const page = await this.sessions.list(query);
    return { items: page.items.map(sessionToResponse), next_cursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOkResponse({ type: SessionResponseDto })
  async get(@Param('id') id: string) {
    return sessionToResponse(await this.sessions.get(id));
  }

  @Delete(':id')
  @ApiOkResponse({ type: SessionResponseDto, description: 'the session, `terminated` (or as it ended before)' })
  async terminate(@Param('id') id: string) {
    return sessionToResponse(await this.sessions.terminate(id));
  }
}
