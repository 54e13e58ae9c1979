import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { PersistenceModule } from '@sandbox/persistence';
import { QueueModule } from '@sandbox/queue';
import { StorageModule } from '@sandbox/storage';
import { loggerOptions } from '@sandbox/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { ZodValidationPipe } from 'nestjs-zod';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeysController } from './auth/api-keys.controller';
import { ApiKeysService } from './auth/api-keys.service';
import { RateLimitGuard } from './auth/rate-limit.guard';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from './control-plane.config';
import { ContextsController } from './contexts/contexts.controller';
import { ContextsService } from './contexts/contexts.service';
import { ExecutionStreamService } from './executions/execution-stream.service';
import { ExecutionWaiterService } from './executions/execution-waiter.service';
import { ExecutionsController } from './executions/executions.controller';
import { ExecutionsService } from './executions/executions.service';
import { FilesController } from './files/files.controller';
import { FilesService } from './files/files.service';
import { HealthController } from './health/health.controller';
import { ControlPlaneMetrics } from './metrics/control-plane.metrics';
import { MetricsController } from './metrics/metrics.controller';
import { NodesController } from './nodes/nodes.controller';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';
import { RuntimesController } from './templates/runtimes.controller';
import { Judge0Controller } from './judge0/judge0.controller';
import { Judge0Service } from './judge0/judge0.service';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service';
import { WebhooksController } from './webhooks/webhooks.controller';
import { TemplatesController } from './templates/templates.controller';

@Module({})
export class AppModule {
  static register(config: ControlPlaneConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            ...loggerOptions('control-plane', config.LOG_LEVEL),
            // probes and scrapes every few seconds would drown the request log
            autoLogging: { ignore: (req) => ['/health', '/ready', '/metrics'].includes((req.url ?? '').split('?')[0]!) },
            customAttributeKeys: { responseTime: 'duration_ms' },
          },
        }),
        PersistenceModule.forRoot(config.DATABASE_URL, config.DB_QUERY_TIMEOUT_MS),
        QueueModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX }),
        StorageModule.forRoot(config),
        TerminusModule.forRoot({ errorLogStyle: 'json' }),
      ],
      controllers: [
        TemplatesController,
        RuntimesController,
        WebhooksController,
        Judge0Controller,
        SessionsController,
        ExecutionsController,
        ContextsController,
        FilesController,
        NodesController,
        ApiKeysController,
        AuditController,
        MetricsController,
        HealthController,
      ],
      providers: [
        { provide: CONTROL_PLANE_CONFIG, useValue: config },
        { provide: APP_PIPE, useClass: ZodValidationPipe },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        // in this order: who is asking, then how often they ask
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        ApiKeysService,
        AuditService,
        ControlPlaneMetrics,
        SessionsService,
        ExecutionsService,
        ContextsService,
        ExecutionWaiterService,
        WebhookDeliveryService,
        Judge0Service,
        ExecutionStreamService,
        FilesService,
      ],
    };
  }
}
