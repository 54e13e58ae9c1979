import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import { type Response } from 'express';
import { AdminOnly } from '../http/access.decorators';
import { ControlPlaneMetrics } from './control-plane.metrics';

/** Prometheus exposition of the control plane (admin scope). */
@ApiTags('metrics')
@ApiBearerAuth()
@AdminOnly()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: ControlPlaneMetrics) {}

  @Get('metrics')
  @ApiExcludeEndpoint()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res() res: Response) {
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
