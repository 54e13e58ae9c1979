import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseClock } from './database-clock';
import { dataSourceOptions } from './data-source-options';
import { assertSchemaCurrent, SchemaVersionError } from './schema-migrations';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { AuditRepository } from './repositories/audit.repository';
import { ExecutionRepository } from './repositories/execution.repository';
import { InterpreterContextRepository } from './repositories/interpreter-context.repository';
import { WebhookDeliveryRepository } from './repositories/webhook-delivery.repository';
import { RetentionRepository } from './repositories/retention.repository';
import { RuntimeNodeRepository } from './repositories/runtime-node.repository';
import { SessionRepository } from './repositories/session.repository';
import { TemplateRepository } from './repositories/template.repository';
import { WorkspaceFileRepository } from './repositories/workspace-file.repository';

const REPOSITORIES = [SessionRepository, ExecutionRepository, TemplateRepository, RuntimeNodeRepository, ApiKeyRepository, AuditRepository, RetentionRepository, WorkspaceFileRepository, InterpreterContextRepository, WebhookDeliveryRepository, DatabaseClock] as const;

/** The DataSource (on a schema checked to be this build's), the repositories and the database clock, for the apps; they also work without Nest. */
@Module({})
export class PersistenceModule {
  static forRoot(databaseUrl: string, queryTimeoutMs?: number): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          // a database that comes up late (all started at once, or restarting) is waited for a minute;
          // after that the process exits for its supervisor to restart it. A schema that is not this
          // build's is refused at once: waiting does not change it.
          useFactory: () => ({
            ...dataSourceOptions(databaseUrl, { queryTimeoutMs }),
            retryAttempts: 30,
            retryDelay: 2000,
            toRetry: (e: unknown) => !(e instanceof SchemaVersionError),
          }),
          dataSourceFactory: async (options) => {
            const ds = await new DataSource(options!).initialize();
            try {
              await assertSchemaCurrent(ds);
              return ds;
            } catch (e) {
              await ds.destroy();
              throw e;
            }
          },
        }),
      ],
      providers: REPOSITORIES.map((Repo) => ({ provide: Repo, useFactory: (ds: DataSource) => new Repo(ds), inject: [DataSource] })),
      exports: [...REPOSITORIES],
    };
  }
}
