import { type DynamicModule, Module } from '@nestjs/common';
import { ApiKeyRepository, PersistenceModule } from '@sandbox/persistence';
import { ExecutionEventsPublisher, QueueProducer } from '@sandbox/queue';
import { StorageModule } from '@sandbox/storage';
import { loggerOptions, MetricsEndpoint } from '@sandbox/telemetry';
import { LoggerModule } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from './agent-config';
import { AgentLifecycleService } from './agent-lifecycle.service';
import { containerRuntimeProvider } from './container-runtime.provider';
import { AgentMetrics } from './metrics/agent-metrics';
import { ExecutionRunnerService } from './executions/execution-runner.service';
import { NodeRegistryService } from './node/node-registry.service';
import { WarmPoolService } from './pool/warm-pool.service';
import { QueueConsumersService } from './queue/queue-consumers.service';
import { OrphanSweepService } from './sessions/orphan-sweep.service';
import { SessionHostService } from './sessions/session-host.service';
import { TemplateCatalogService } from './template-catalog.service';
import { WorkspaceSyncService } from './workspaces/workspace-sync.service';

@Module({})
export class AgentModule {
  static register(config: AgentConfig): DynamicModule {
    const queueSettings = { redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX };
    return {
      module: AgentModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: loggerOptions('runtime-agent', config.LOG_LEVEL) }),
        PersistenceModule.forRoot(config.DATABASE_URL),
        StorageModule.forRoot(config),
      ],
      providers: [
        { provide: AGENT_CONFIG, useValue: config },
        { provide: QueueProducer, useFactory: () => new QueueProducer(queueSettings) },
        { provide: ExecutionEventsPublisher, useFactory: () => new ExecutionEventsPublisher(queueSettings) },
        containerRuntimeProvider,
        AgentMetrics,
        {
          provide: MetricsEndpoint,
          useFactory: (metrics: AgentMetrics, keys: ApiKeyRepository) =>
            new MetricsEndpoint(metrics.registry, { port: config.METRICS_PORT, host: config.METRICS_HOST, authorize: (h) => keys.isAdminBearer(h) }),
          inject: [AgentMetrics, ApiKeyRepository],
        },
        TemplateCatalogService,
        WarmPoolService,
        SessionHostService,
        WorkspaceSyncService,
        ExecutionRunnerService,
        NodeRegistryService,
        QueueConsumersService,
        OrphanSweepService,
        AgentLifecycleService,
      ],
    };
  }
}
