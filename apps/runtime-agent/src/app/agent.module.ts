import { type DynamicModule, Module } from '@nestjs/common';
import { Clock, systemClock } from '@sandbox/domain';
import { ApiKeyRepository, PersistenceModule, WorkspaceFileRepository } from '@sandbox/persistence';
import { QueueModule } from '@sandbox/queue';
import { StorageModule, WORKSPACE_STORE, type WorkspaceStore } from '@sandbox/storage';
import { loggerOptions, MetricsEndpoint } from '@sandbox/telemetry';
import { WorkspaceSync } from '@sandbox/workspace-sync';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from './agent.config';
import { CapacityReportService } from './capacity/capacity-report.service';
import { NodeAllocatableService } from './capacity/node-allocatable.service';
import { NodeBudgetService } from './capacity/node-budget.service';
import { containerRuntimeProvider } from './container-runtime.provider';
import { RichResultsService } from './executions/rich-results.service';
import { ExecutionRunnerService } from './executions/execution-runner.service';
import { AgentStartupService } from './lifecycle/agent-startup.service';
import { NodeGuardService } from './lifecycle/node-guard.service';
import { AgentMetrics } from './metrics/agent.metrics';
import { NodeRegistryService } from './node/node-registry.service';
import { WarmPoolService } from './pool/warm-pool.service';
import { PlacementQueueService } from './queue/placement-queue.service';
import { QueueConsumersService } from './queue/queue-consumers.service';
import { SessionHostService } from './sessions/session-host.service';
import { OrphanSweepService } from './teardown/orphan-sweep.service';
import { SessionTeardownService } from './teardown/session-teardown.service';
import { TemplateCatalogService } from './template-catalog.service';

@Module({})
export class AgentModule {
  static register(config: AgentConfig): DynamicModule {
    return {
      module: AgentModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: loggerOptions('runtime-agent', config.LOG_LEVEL) }),
        PersistenceModule.forRoot(config.DATABASE_URL, config.DB_QUERY_TIMEOUT_MS),
        QueueModule.forRoot({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX }),
        StorageModule.forRoot(config),
      ],
      providers: [
        { provide: AGENT_CONFIG, useValue: config },
        { provide: Clock, useValue: systemClock },
        containerRuntimeProvider,
        AgentMetrics,
        {
          provide: MetricsEndpoint,
          useFactory: (metrics: AgentMetrics, keys: ApiKeyRepository) =>
            new MetricsEndpoint(metrics.registry, { port: config.METRICS_PORT, host: config.METRICS_HOST, authorize: (h) => keys.isAdminBearer(h) }),
          inject: [AgentMetrics, ApiKeyRepository],
        },
        {
          provide: WorkspaceSync,
          useFactory: (store: WorkspaceStore, manifest: WorkspaceFileRepository, log: PinoLogger) => {
            log.setContext(WorkspaceSync.name);
            return new WorkspaceSync(store, manifest, log, config.WORKSPACE_SYNC_TIMEOUT_SECONDS * 1000);
          },
          inject: [WORKSPACE_STORE, WorkspaceFileRepository, PinoLogger],
        },
        TemplateCatalogService,
        NodeBudgetService,
        NodeAllocatableService,
        CapacityReportService,
        WarmPoolService,
        SessionHostService,
        RichResultsService,
        ExecutionRunnerService,
        SessionTeardownService,
        OrphanSweepService,
        NodeRegistryService,
        PlacementQueueService,
        QueueConsumersService,
        NodeGuardService,
        AgentStartupService,
      ],
    };
  }
}
