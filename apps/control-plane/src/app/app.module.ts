import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { PersistenceModule } from '@sandbox/persistence';
import { QueueProducer } from '@sandbox/queue';
import { StorageModule } from '@sandbox/storage';
import { loggerOptions } from '@sandbox/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { ZodValidationPipe } from 'nestjs-zod';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from './control-plane-config';
import { ExecutionWaiterService } from './executions/execution-waiter.service';
import { ExecutionsController } from './executions/executions.controller';
import { ExecutionsService } from './executions/executions.service';
import { FilesController } from './files/files.controller';
import { FilesService } from './files/files.service';
import { HealthController } from './health/health.controller';
import { NodesController } from './nodes/nodes.controller';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';
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
            // probes every few seconds would drown the request log
            autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/ready' },
          },
        }),
        PersistenceModule.forRoot(config.DATABASE_URL),
        StorageModule.forRoot(config),
        TerminusModule.forRoot({ errorLogStyle: 'json' }),
      ],
      controllers: [TemplatesController, SessionsController, ExecutionsController, FilesController, NodesController, HealthController],
      providers: [
        { provide: CONTROL_PLANE_CONFIG, useValue: config },
        {
          provide: QueueProducer,
          useFactory: () => new QueueProducer({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX }),
        },
        { provide: APP_PIPE, useClass: ZodValidationPipe },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        SessionsService,
        ExecutionsService,
        ExecutionWaiterService,
        FilesService,
      ],
    };
  }
}
