import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseClock } from './database-clock';
import { dataSourceOptions } from './data-source-options';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { AuditRepository } from './repositories/audit.repository';
import { ExecutionRepository } from './repositories/execution.repository';
import { RetentionRepository } from './repositories/retention.repository';
import { RuntimeNodeRepository } from './repositories/runtime-node.repository';
import { SessionRepository } from './repositories/session.repository';
import { TemplateRepository } from './repositories/template.repository';
import { WorkspaceFileRepository } from './repositories/workspace-file.repository';

const REPOSITORIES = [SessionRepository, ExecutionRepository, TemplateRepository, RuntimeNodeRepository, ApiKeyRepository, AuditRepository, RetentionRepository, WorkspaceFileRepository, DatabaseClock] as const;

/** The DataSource, the repositories and the database clock, for the apps; they also work without Nest. */
@Module({})
export class PersistenceModule {
  static forRoot(databaseUrl: string, queryTimeoutMs?: number): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      // a database that comes up late (all started at once, or restarting) is waited for a minute;
      // after that the process exits for its supervisor to restart it
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(databaseUrl, { queryTimeoutMs }), retryAttempts: 30, retryDelay: 2000 })],
      providers: REPOSITORIES.map((Repo) => ({ provide: Repo, useFactory: (ds: DataSource) => new Repo(ds), inject: [DataSource] })),
      exports: [...REPOSITORIES],
    };
  }
}
