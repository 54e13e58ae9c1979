import { Controller, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { drainNode, type NodeStatus, type Principal, type Transition, undrainNode } from '@sandbox/domain';
import { RuntimeNodeRepository, SessionRepository } from '@sandbox/persistence';
import { type Request } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AuditService } from '../audit/audit.service';
import { AdminOnly, CurrentPrincipal } from '../http/access.decorators';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';
import { ApiError } from '../http/api-error';
import { NodeListDto, NodeResponseDto, nodeToResponse } from './node.dto';

/** Runtime nodes for operators (admin scope): their heartbeat as the reaper judges it, drain and undrain. */
@ApiTags('nodes')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/nodes')
export class NodesController {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly nodes: RuntimeNodeRepository,
    private readonly sessions: SessionRepository,
    private readonly audit: AuditService,
    @InjectPinoLogger(NodesController.name) private readonly log: PinoLogger,
  ) {}

  @Get()
  @ApiOkResponse({ type: NodeListDto })
  @ApiOperation({ summary: 'List runtime nodes (admin)' })
  async list() {
    const counts = await this.sessions.countByNode();
    return { items: (await this.nodes.withAges()).map((n) => nodeToResponse(n, counts.get(n.id) ?? 0, this.config.STALE_AFTER_SECONDS)) };
  }

  @Get(':id')
  @ApiOkResponse({ type: NodeResponseDto })
  @ApiOperation({ summary: 'Get a runtime node (admin)' })
  async get(@Param('id') id: string) {
    const node = (await this.nodes.withAges()).find((n) => n.id === id);
    if (!node) throw ApiError.notFound('node', id);
    return nodeToResponse(node, (await this.sessions.countByNode()).get(id) ?? 0, this.config.STALE_AFTER_SECONDS);
  }

  /** Stops placing new sessions there; it finishes running work, moves its sessions away and exits. */
  @Post(':id/drain')
  @HttpCode(200)
  @ApiOkResponse({ type: NodeResponseDto, description: '`draining`' })
  @ApiOperation({ summary: 'Drain a node: no new sessions (admin)' })
  async drain(@Param('id') id: string, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const node = await this.move(id, drainNode);
    await this.audit.record(who, req, 'node.drain', { type: 'node', id });
    return node;
  }

  /** Calls off a drain that has not finished yet. */
  @Post(':id/undrain')
  @HttpCode(200)
  @ApiOkResponse({ type: NodeResponseDto, description: '`online`' })
  @ApiOperation({ summary: 'Undrain a node (admin)' })
  async undrain(@Param('id') id: string, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const node = await this.move(id, undrainNode);
    await this.audit.record(who, req, 'node.undrain', { type: 'node', id });
    return node;
  }

  private async move(id: string, t: Transition<NodeStatus>) {
    const before = await this.nodes.findById(id);
    if (!before) throw ApiError.notFound('node', id);
    if (before.status !== t.to && !(await this.nodes.transition(id, t))) {
      const now = (await this.nodes.findById(id))?.status ?? 'gone';
      throw new ApiError(409, 'node_state', `node '${id}' is ${now}: only a node that is ${t.from.join(' or ')} can become ${t.to}`);
    }
    this.log.info({ runtime_node: id, status: t.to }, `node ${t === drainNode ? 'drain requested' : 'drain called off'}`);
    return this.get(id);
  }
}
