import { type DynamicModule, Module } from '@nestjs/common';
import { Clock, systemClock } from '@sandbox/domain';
import { ApiKeyRepository, PersistenceModule } from '@sandbox/persistence';
import { QueueModule } from '@sandbox/queue';
import { StorageModule } from '@sandbox/storage';
import { loggerOptions, MetricsEndpoint } from '@sandbox/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from './reaper.config';
import { SessionExpiryService } from './expiry/session-expiry.service';
import { ReaperMetrics } from './reaper.metrics';
import { RecoveryService } from './recovery/recovery.service';
import { DataRetentionService } from './retention/data-retention.service';
import { WebhookOutboxService } from './webhooks/webhook-outbox.service';
import { WorkspaceRetentionService } from './retention/workspace-retention.service';
import { ReaperSchedulerService } from './schedule/reaper-scheduler.service';

@Module({})
export class ReaperModule {
  static register(config: ReaperConfig): DynamicModule {
    return {
      module: ReaperModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: loggerOptions('reaper', config.LOG_LEVEL) }),
        PersistenceModule.forRoot(config.DATABASE_URL, config.DB_QUERY_TIMEOUT_MS),
        QueueModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX }),
        StorageModule.forRoot(config),
      ],
      providers: [
        { provide: REAPER_CONFIG, useValue: config },
        { provide: Clock, useValue: systemClock },
        ReaperMetrics,
        {
          provide: MetricsEndpoint,
          useFactory: (metrics: ReaperMetrics, keys: ApiKeyRepository) =>
            new MetricsEndpoint(metrics.registry, { port: config.METRICS_PORT, host: config.METRICS_HOST, authorize: (h) => keys.isAdminBearer(h) }),
          inject: [ReaperMetrics, ApiKeyRepository],
        },
        RecoveryService,
        SessionExpiryService,
        WebhookOutboxService,
        WorkspaceRetentionService,
        DataRetentionService,
        ReaperSchedulerService,
      ],
    };
  }
}
