import { type DataSource } from 'typeorm';
import { initScriptFor } from './init-sql';
import { WorkspaceManifest1796212800000 } from './migrations/1796212800000-workspace-manifest.migration';
import { AuditPrune1796212860000 } from './migrations/1796212860000-audit-prune.migration';
import { HeartbeatMilliseconds1796212920000 } from './migrations/1796212920000-heartbeat-milliseconds.migration';
import { RetentionIndexes1796212980000 } from './migrations/1796212980000-retention-indexes.migration';
import { NodeBudget1796213040000 } from './migrations/1796213040000-node-budget.migration';
import { SessionPlacement1796213100000 } from './migrations/1796213100000-session-placement.migration';
import { ExecutionCancel1796213160000 } from './migrations/1796213160000-execution-cancel.migration';
import { ExecutionInputs1796213220000 } from './migrations/1796213220000-execution-inputs.migration';
import { ExecutionFiles1796213280000 } from './migrations/1796213280000-execution-files.migration';
import { InterpreterContexts1796213340000 } from './migrations/1796213340000-interpreter-contexts.migration';
import { TestCases1796213400000 } from './migrations/1796213400000-test-cases.migration';
import { TemplateRuntimes1796213460000 } from './migrations/1796213460000-template-runtimes.migration';
import { Webhooks1796213520000 } from './migrations/1796213520000-webhooks.migration';

/**
 * Every schema change since the oldest released schema (migrations/baseline-2026-12-02.sql), oldest
 * first; one DDL concern each, written to be run again after a failure halfway (MariaDB commits each
 * DDL statement: `IF [NOT] EXISTS` everywhere). init.sql is the schema after all of them and records
 * them in TypeORM's `migrations` table: schema-migrations.integration-spec.ts proves both.
 */
export const MIGRATIONS = [
  WorkspaceManifest1796212800000,
  AuditPrune1796212860000,
  HeartbeatMilliseconds1796212920000,
  RetentionIndexes1796212980000,
  NodeBudget1796213040000,
  SessionPlacement1796213100000,
  ExecutionCancel1796213160000,
  ExecutionInputs1796213220000,
  ExecutionFiles1796213280000,
  InterpreterContexts1796213340000,
  TestCases1796213400000,
  TemplateRuntimes1796213460000,
  Webhooks1796213520000,
];

const KNOWN = MIGRATIONS.map((M) => new M().name);

/** The database's schema is not the one this build maps: refused at start, not met later as a missing column. */
export class SchemaVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaVersionError';
  }
}

export interface SchemaStatus {
  /** false: the database has no tables (a new one is made from init.sql, not by migrations: makeSchema) */
  readonly hasSchema: boolean;
  readonly applied: readonly string[];
  readonly pending: readonly string[];
  /** applied by a newer build: this one does not know them */
  readonly unknown: readonly string[];
}

/**
 * Where the database stands against this build's migrations. A database with tables but no
 * `migrations` table was made by the release before migrations existed (the baseline): all pending.
 */
export async function schemaStatus(ds: DataSource): Promise<SchemaStatus> {
  const tables: { t: string }[] = await ds.query(
    "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('sessions', 'migrations')",
  );
  const has = (name: string) => tables.some((r) => r.t === name);
  const applied = has('migrations') ? ((await ds.query('SELECT name FROM migrations ORDER BY id')) as { name: string }[]).map((r) => r.name) : [];
  return {
    hasSchema: has('sessions'),
    applied,
    pending: KNOWN.filter((n) => !applied.includes(n)),
    unknown: applied.filter((n) => !KNOWN.includes(n)),
  };
}

function refusal(s: SchemaStatus): SchemaVersionError | null {
  if (!s.hasSchema) return new SchemaVersionError('the database has no tables: `npm run migrate` makes it from init.sql');
  if (s.unknown.length) {
    return new SchemaVersionError(
      `the database schema is newer than this build: it holds migration(s) ${s.unknown.join(', ')}, unknown here. Run the build that made them, or undo them first with that build's \`npm run migrate -- revert\``,
    );
  }
  return null;
}

/** The apps' check at start (one query or two): the schema must be exactly this build's, else they refuse, saying why. */
export async function assertSchemaCurrent(ds: DataSource): Promise<void> {
  const s = await schemaStatus(ds);
  const refused = refusal(s);
  if (refused) throw refused;
  if (s.pending.length) {
    throw new SchemaVersionError(
      `the database schema is older than this build: migration(s) ${s.pending.join(', ')} pending. Run \`npm run migrate\` (the compose service \`migrate\`) first`,
    );
  }
}

/** Runs the pending migrations, oldest first, one run at a time per database; returns the names applied. */
export function migrateSchema(ds: DataSource): Promise<string[]> {
  return holdingMigrationLock(ds, async () => {
    const refused = refusal(await schemaStatus(ds));
    if (refused) throw refused;
    // 'none': DDL commits itself in MariaDB; a transaction would only pretend to cover it
    return (await ds.runMigrations({ transaction: 'none' })).map((m) => m.name);
  });
}

/**
 * A database with no tables made from `initSql()` (the text of init.sql, read only then), which records
 * it as at every migration; false, and nothing done, when it has tables. Under the lock of the migrations: two runs
 * at once make it once. The DataSource needs `multipleStatements` (init.sql is one script).
 */
export function makeSchema(ds: DataSource, initSql: () => string): Promise<boolean> {
  return holdingMigrationLock(ds, async () => {
    if ((await schemaStatus(ds)).hasSchema) return false;
    const [{ db }] = (await ds.query('SELECT DATABASE() AS db')) as [{ db: string }];
    await ds.query(initScriptFor(initSql(), db));
    return true;
  });
}

/** Undoes the newest applied migration (before returning to the previous build); returns its name, or null when none is applied. */
export function revertLastMigration(ds: DataSource): Promise<string | null> {
  return holdingMigrationLock(ds, async () => {
    const s = await schemaStatus(ds);
    const refused = refusal(s);
    if (refused) throw refused;
    const last = s.applied.at(-1);
    if (!last) return null;
    await ds.undoLastMigration({ transaction: 'none' });
    return last;
  });
}

/** Seconds a second run waits for the first one (another operator, a restarted compose service). */
const LOCK_WAIT_SECONDS = 600;

// GET_LOCK names are server-wide: the name carries the database, so runs on other databases never wait
async function holdingMigrationLock<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    const [row] = (await runner.query("SELECT GET_LOCK(CONCAT('sandbox_migrate:', DATABASE()), ?) AS got", [LOCK_WAIT_SECONDS])) as { got: number | null }[];
    if (Number(row?.got) !== 1) throw new Error(`another migration run held this database's lock for ${LOCK_WAIT_SECONDS} s`);
    try {
      return await fn();
    } finally {
      await runner.query("SELECT RELEASE_LOCK(CONCAT('sandbox_migrate:', DATABASE()))");
    }
  } finally {
    await runner.release();
  }
}
