import { type DataSourceOptions } from 'typeorm';
import { ApiKeyEntity } from './entities/api-key.entity';
import { AuditEventEntity } from './entities/audit-event.entity';
import { ExecutionEntity } from './entities/execution.entity';
import { RuntimeNodeEntity } from './entities/runtime-node.entity';
import { SessionEntity } from './entities/session.entity';
import { TemplateEntity } from './entities/template.entity';
import { MIGRATIONS } from './schema-migrations';
import { DestroyTimedOutConnections } from './timed-out-connections';

export const ENTITIES = [SessionEntity, ExecutionEntity, TemplateEntity, RuntimeNodeEntity, ApiKeyEntity, AuditEventEntity];

/**
 * TypeORM options for the schema of record in init.sql: never synchronised, only mapped. The
 * migrations run only as their own step (tools/migrate.ts); queryTimeoutMs 0 is no limit (theirs: a
 * table rebuild takes what it takes); multipleStatements for that step's init.sql, never for the apps.
 */
export function dataSourceOptions(
  databaseUrl: string,
  extra: { poolSize?: number; queryTimeoutMs?: number; multipleStatements?: boolean } = {},
): DataSourceOptions {
  const url = new URL(databaseUrl);
  return {
    type: 'mariadb',
    host: url.hostname,
    port: Number(url.port || 3306),
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, ''),
    entities: ENTITIES,
    synchronize: false,
    migrations: MIGRATIONS,
    migrationsRun: false,
    charset: 'utf8mb4_unicode_ci',
    // TIMESTAMP columns are read and written as UTC whatever the host's time zone.
    timezone: 'Z',
    poolSize: extra.poolSize ?? 10,
    // a dead server must not hang a request: fail the connect, let the caller answer 503
    connectTimeout: 5000,
    // a server that stops answering mid-query (hung, packets dropped) fails the call and drops the connection
    maxQueryExecutionTime: extra.queryTimeoutMs ?? 10_000,
    enableQueryTimeout: true,
    multipleStatements: extra.multipleStatements ?? false,
    subscribers: [DestroyTimedOutConnections],
    // never on: TypeORM's logger writes a failed statement with its parameters (env var values, code,
    // stdout); errors reach the apps' pino logger, whose `err` serializer drops them
    logging: false,
    // TypeORM's console logger prints slow queries with their parameters (code, env values) whatever
    // `logging` says; the debug logger prints nothing unless DEBUG=typeorm:* is set
    logger: 'debug',
  };
}
