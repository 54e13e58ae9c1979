import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { QueueProducer } from '@sandbox/queue';
import { Public } from '../http/access.decorators';
import { ApiError } from '../http/api-error';

const PROBE_TIMEOUT_MS = 2000;

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly producer: QueueProducer,
  ) {}

  /** Liveness: the process serves requests. Dependencies are /ready's concern. */
  @Get('health')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'ok' };
  }

  /** Readiness: MariaDB and Redis answer. */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: MariaDB and Redis answer' })
  ready() {
    return this.health.check([() => this.db.pingCheck('database', { timeout: PROBE_TIMEOUT_MS }), () => this.redis()]);
  }

  private async redis(): Promise<HealthIndicatorResult> {
    try {
      await this.producer.ping(PROBE_TIMEOUT_MS);
      return { redis: { status: 'up' } };
    } catch (e) {
      throw ApiError.unavailable('not_ready', `redis is not reachable: ${(e as Error).message}`);
    }
  }
}
