import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RuntimeNodeRepository, SessionRepository } from '@sandbox/persistence';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane-config';
import { ApiError } from '../http/api-error';
import { NodeListDto, NodeResponseDto, nodeToResponse } from './node.dto';

/** Runtime nodes for operators: their heartbeat as the reaper judges it, drain and undrain. */
@ApiTags('nodes')
@Controller('v1/nodes')
export class NodesController {
  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly nodes: RuntimeNodeRepository,
    private readonly sessions: SessionRepository,
    @InjectPinoLogger(NodesController.name) private readonly log: PinoLogger,
  ) {}

  @Get()
  @ApiOkResponse({ type: NodeListDto })
  async list() {
    const counts = await this.sessions.countByNode();
    return { items: (await this.nodes.withAges()).map((n) => nodeToResponse(n, counts.get(n.id) ?? 0, this.config.STALE_AFTER_SECONDS)) };
  }

  @Get(':id')
  @ApiOkResponse({ type: NodeResponseDto })
  async get(@Param('id') id: string) {
    const node = (await this.nodes.withAges()).find((n) => n.id === id);
    if (!node) throw ApiError.notFound('node', id);
    return nodeToResponse(node, (await this.sessions.countByNode()).get(id) ?? 0, this.config.STALE_AFTER_SECONDS);
  }

  /** Stops placing new sessions there; it finishes running work, moves its sessions away and exits. */
  @Post(':id/drain')
  @HttpCode(200)
  @ApiOkResponse({ type: NodeResponseDto, description: '`draining`' })
  async drain(@Param('id') id: string) {
    return this.move(id, 'online', 'draining');
  }

  /** Calls off a drain that has not finished yet. */
  @Post(':id/undrain')
  @HttpCode(200)
  @ApiOkResponse({ type: NodeResponseDto, description: '`online`' })
  async undrain(@Param('id') id: string) {
    return this.move(id, 'draining', 'online');
  }

  private async move(id: string, from: 'online' | 'draining', to: 'online' | 'draining') {
    const before = await this.nodes.findById(id);
    if (!before) throw ApiError.notFound('node', id);
    if (before.status !== to && !(await this.nodes.transition(id, from, to))) {
      const now = (await this.nodes.findById(id))?.status ?? 'gone';
      throw new ApiError(409, 'node_state', `node '${id}' is ${now}: only a node that is ${from} can become ${to}`);
    }
    this.log.info({ runtime_node: id, status: to }, `node ${to === 'draining' ? 'drain requested' : 'drain called off'}`);
    return this.get(id);
  }
}
