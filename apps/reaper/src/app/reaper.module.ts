import { type DynamicModule, Module } from '@nestjs/common';
import { ApiKeyRepository, PersistenceModule } from '@sandbox/persistence';
import { ExecutionEventsPublisher, QueueProducer } from '@sandbox/queue';
import { StorageModule } from '@sandbox/storage';
import { loggerOptions, MetricsEndpoint } from '@sandbox/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from './reaper-config';
import { SessionExpiryService } from './expiry/session-expiry.service';
import { ReaperStats } from './reaper-stats';
import { RecoveryService } from './recovery/recovery.service';
import { WatchService } from './recovery/watch.service';
import { WorkspaceRetentionService } from './retention/workspace-retention.service';
import { ReaperSchedulerService } from './schedule/reaper-scheduler.service';

@Module({})
export class ReaperModule {
  static register(config: ReaperConfig): DynamicModule {
    const queueSettings = { redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX };
    return {
      module: ReaperModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: loggerOptions('reaper', config.LOG_LEVEL) }),
        PersistenceModule.forRoot(config.DATABASE_URL),
        StorageModule.forRoot(config),
      ],
      providers: [
        { provide: REAPER_CONFIG, useValue: config },
        { provide: QueueProducer, useFactory: () => new QueueProducer(queueSettings) },
        { provide: ExecutionEventsPublisher, useFactory: () => new ExecutionEventsPublisher(queueSettings) },
        ReaperStats,
        {
          provide: MetricsEndpoint,
          useFactory: (stats: ReaperStats, keys: ApiKeyRepository) =>
            new MetricsEndpoint(stats.registry, { port: config.METRICS_PORT, host: config.METRICS_HOST, authorize: (h) => keys.isAdminBearer(h) }),
          inject: [ReaperStats, ApiKeyRepository],
        },
        WatchService,
        RecoveryService,
        SessionExpiryService,
        WorkspaceRetentionService,
        ReaperSchedulerService,
      ],
    };
  }
}
