import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashApiKey } from '@sandbox/domain';
import { NestFactory } from '@nestjs/core';
import { createTestDatabase, initSqlFor, REPO_ROOT, type TestDatabase } from '@sandbox/testing';
import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { PersistenceModule } from './persistence.module';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { AuditRepository } from './repositories/audit.repository';
import { ExecutionRepository } from './repositories/execution.repository';
import { SessionRepository } from './repositories/session.repository';
import { makeSchema, MIGRATIONS, migrateSchema, revertLastMigration, schemaStatus, SchemaVersionError } from './schema-migrations';

/** The last released schema (init.sql of 7c73651), as it is in every database made before migrations. */
const BASELINE = join(__dirname, 'migrations', 'baseline-2026-12-02.sql');
const NAMES = MIGRATIONS.map((M) => new M().name);

/** Everything information_schema says about the schema: what two databases must share to be the same. */
async function schemaOf(ds: DataSource): Promise<Record<string, unknown[]>> {
  const q = (sql: string): Promise<unknown[]> => ds.query(sql);
  return {
    tables: await q(`SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`),
    // ORDINAL_POSITION too: a column added by a migration lands where init.sql has it (AFTER)
    columns: await q(`SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, COLUMN_DEFAULT, IS_NULLABLE, CHARACTER_SET_NAME,
      COLLATION_NAME, EXTRA, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`),
    indexes: await q(`SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, INDEX_TYPE, COLLATION FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`),
    constraints: await q(`SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME`),
    foreignKeys: await q(`SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME,
        r.UPDATE_RULE, r.DELETE_RULE
      FROM information_schema.KEY_COLUMN_USAGE k
      JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
      WHERE k.CONSTRAINT_SCHEMA = DATABASE() ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`),
    checks: await q(`SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME`),
    // the body's layout is not the schema: runs of blanks count as one
    triggers: await q(`SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_ORDER, ACTION_ORIENTATION,
        REGEXP_REPLACE(ACTION_STATEMENT, '\\\\s+', ' ') AS ACTION_STATEMENT, SQL_MODE
      FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME`),
  };
}

/** Every row of every table the baseline has, its columns only, in key order. */
async function rowsOf(ds: DataSource, columns: Map<string, string[]>): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, cols] of columns) out[table] = await ds.query(`SELECT ${cols.map((c) => `\`${c}\``).join(', ')} FROM \`${table}\` ORDER BY 1, 2`);
  return out;
}

async function columnsOf(ds: DataSource): Promise<Map<string, string[]>> {
  const rows: { t: string; c: string }[] = await ds.query(
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION',
  );
  const out = new Map<string, string[]>();
  for (const { t, c } of rows) out.set(t, [...(out.get(t) ?? []), c]);
  return out;
}

const migrationRows = (ds: DataSource): Promise<unknown[]> => ds.query('SELECT id, timestamp, name FROM migrations ORDER BY id');

/** Rows of the last release's schema, one of each kind an installation holds, written as that release wrote them. */
async function seedReleasedRows(ds: DataSource): Promise<void> {
  await ds.query(`INSERT INTO runtime_nodes (id, hostname, version, status, capacity, running, labels, last_heartbeat_at, started_at)
    VALUES ('node-a', 'host-a', '0.1.0', 'online', 8, 2, JSON_OBJECT('zone', 'a'), '2026-12-01 10:00:05', '2026-12-01 09:00:00')`);
  await ds.query(`INSERT INTO sessions (id, template_id, tenant, idempotency_key, request_hash, trace_parent, status, runtime_type, runtime_node,
      container_id, workspace_path, workspace_version, resources_cpu, resources_memory, resources_disk, env_vars, timeout, error,
      last_activity_at, created_at, updated_at, completed_at) VALUES
    ('ses-running', 'python-basic', 'acme', 'key-1', REPEAT('a', 64), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'running', 'docker',
      'node-a', 'c0ffee', 's3://sandbox/sessions/ses-running/', 3, '1', '512Mi', '1Gi', JSON_OBJECT('GREETING', 'hello'), 300, NULL,
      '2026-12-01 10:00:00', '2026-12-01 09:30:00', '2026-12-01 10:00:00', NULL),
    ('ses-done', 'nodejs-basic', 'acme', NULL, NULL, NULL, 'failed', 'docker', 'node-a', 'beef', NULL, 0, '1', '512Mi', '1Gi', NULL, 60,
      'image missing', '2026-11-30 08:00:00', '2026-11-30 07:00:00', '2026-11-30 08:00:01', '2026-11-30 08:00:01'),
    ('ses-waiting', 'python-basic', 'globex', NULL, NULL, NULL, 'creating', 'docker', NULL, NULL, NULL, 0, '1', '512Mi', '1Gi', NULL, 300, NULL,
      '2026-12-01 10:01:00', '2026-12-01 10:01:00', '2026-12-01 10:01:00', NULL)`);
  await ds.query(`INSERT INTO executions (id, session_id, code, language, status, stdin, idempotency_key, request_hash, collect, timeout, stdout, stderr,
      stdout_truncated, exit_code, execution_time, reason, resource_usage, artifacts, collected, skipped_artifacts, attempt, attempts, runtime_node,
      started_at, last_heartbeat_at, created_at, completed_at) VALUES
    ('01JEXEC0000000000000000001', 'ses-running', 'print("hi")', 'python', 'completed', NULL, 'run-1', REPEAT('b', 64), JSON_ARRAY('out/*.png'), 30,
      'hi\\n', '', TRUE, 0, 0.25, 'exited', JSON_OBJECT('wall_ms', 250, 'cpu_ms', 120, 'peak_memory_bytes', 31457280),
      JSON_ARRAY(JSON_OBJECT('path', 'out/plot.png', 'size', 2048, 'mime_type', 'image/png', 'sha256', REPEAT('c', 64), 'etag', '"e1"')),
      JSON_ARRAY(JSON_OBJECT('path', 'out/plot.png', 'size', 2048, 'mime_type', 'image/png', 'sha256', REPEAT('c', 64), 'etag', '"e1"')),
      JSON_OBJECT('count', 1, 'items', JSON_ARRAY(JSON_OBJECT('path', 'big.bin', 'size', 99999999, 'reason', 'too_large'))),
      2, JSON_ARRAY(JSON_OBJECT('attempt', 1, 'node', 'node-b', 'outcome', 'agent_lost')), 'node-a',
      '2026-12-01 09:31:00.125', '2026-12-01 09:31:00', '2026-12-01 09:30:59.5', '2026-12-01 09:31:00.375'),
    ('01JEXEC0000000000000000002', 'ses-running', 'while True: pass', 'python', 'running', 'input', NULL, NULL, NULL, 30,
      NULL, NULL, FALSE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, NULL, 'node-a', '2026-12-01 10:00:00.5', '2026-12-01 10:00:04', '2026-12-01 10:00:00', NULL)`);
  await ds.query(`INSERT INTO api_keys (id, prefix, key_hash, name, scope, tenant, created_by, expires_at, revoked_at, last_used_at, created_at) VALUES
    ('key_admin', 'sbx_admin', '${hashApiKey('sbx_admin_secret')}', 'ops', 'admin', 'ops', NULL, NULL, NULL, '2026-12-01 10:00:00', '2026-11-01 00:00:00'),
    ('key_acme', 'sbx_acme', '${hashApiKey('sbx_acme_secret')}', 'acme CI', 'tenant', 'acme', 'key_admin', '2027-01-01 00:00:00', NULL, NULL, '2026-11-02 00:00:00')`);
  await ds.query(`INSERT INTO audit_events (occurred_at, actor, tenant, action, target_type, target_id, outcome, request_id, ip, detail) VALUES
    ('2026-11-01 00:00:00.001', 'cli', NULL, 'api_key.create', 'api_key', 'key_admin', 'ok', NULL, NULL, JSON_OBJECT('scope', 'admin')),
    ('2026-11-02 00:00:00.002', 'key_admin', 'ops', 'api_key.create', 'api_key', 'key_acme', 'ok', 'req-1', '10.0.0.1', JSON_OBJECT('scope', 'tenant')),
    ('2026-12-01 09:30:00.003', 'key_acme', 'acme', 'session.create', 'session', 'ses-running', 'ok', 'req-2', '10.0.0.2', NULL)`);
}

describe('schema migrations on MariaDB', () => {
  let current: TestDatabase;
  let baseline: TestDatabase;
  let upgraded: TestDatabase;
  let currentDs: DataSource;
  let baselineDs: DataSource;
  let ds: DataSource;
  let releasedColumns: Map<string, string[]>;
  let before: Record<string, unknown[]>;
  let applied: string[];

  beforeAll(async () => {
    [current, baseline, upgraded] = await Promise.all([
      createTestDatabase('mig_current'),
      createTestDatabase('mig_baseline', undefined, BASELINE),
      createTestDatabase('mig_upgraded', undefined, BASELINE),
    ]);
    [currentDs, baselineDs, ds] = await Promise.all([current, baseline, upgraded].map((db) => new DataSource(dataSourceOptions(db.url, { poolSize: 2 })).initialize()));
    await seedReleasedRows(ds);
    releasedColumns = await columnsOf(ds);
    before = await rowsOf(ds, releasedColumns);
    applied = await migrateSchema(ds);
  });

  afterAll(async () => {
    await Promise.all([currentDs, baselineDs, ds].map((d) => d?.destroy()));
    await Promise.all([current, baseline, upgraded].map((db) => db?.drop()));
  });

  it('applies every migration to a database of the last release, oldest first', () => {
    expect(applied).toEqual(NAMES);
  });

  it('gives the schema of init.sql: columns, indexes, constraints, triggers, and the same migration records', async () => {
    expect(await schemaOf(ds)).toEqual(await schemaOf(currentDs));
    expect(await migrationRows(ds)).toEqual(await migrationRows(currentDs));
  });

  it('keeps every row of sessions, executions, artifacts, nodes, API keys and the audit log intact', async () => {
    expect(before['executions']).toHaveLength(2);
    // the one row a migration adds: the C and C++ template (TestCases1796213400000)
    const after = await rowsOf(ds, releasedColumns);
    const templates = after['templates'] as Record<string, unknown>[];
    expect(templates.filter((t) => t['id'] === 'gcc')).toMatchObject([{ image: 'sandbox-gcc:12', language: 'c' }]);
    expect({ ...after, templates: templates.filter((t) => t['id'] !== 'gcc') }).toEqual(before);

    // and this build reads them
    const sessions = new SessionRepository(ds);
    expect(await sessions.findById('ses-running')).toMatchObject({ status: 'running', runtimeNode: 'node-a', tenant: 'acme', errorCode: null });
    expect((await sessions.findById('ses-waiting'))!.placementRequestedAt).toEqual(new Date('2026-12-01T10:01:00Z'));
    const run = await new ExecutionRepository(ds).findById('01JEXEC0000000000000000001');
    expect(run!.artifacts).toEqual([{ path: 'out/plot.png', size: 2048, mime_type: 'image/png', sha256: 'c'.repeat(64), etag: '"e1"' }]);
    expect(await new ApiKeyRepository(ds).findByHash(hashApiKey('sbx_acme_secret'))).toMatchObject({ id: 'key_acme', scope: 'tenant', tenant: 'acme' });
    const audit = await new AuditRepository(ds).list({ limit: 10 });
    expect(audit.items.map((e) => e.targetId)).toEqual(['ses-running', 'key_acme', 'key_admin']);
    await expect(ds.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
  });

  it('has nothing to do the second time', async () => {
    expect(await migrateSchema(ds)).toEqual([]);
    expect(await migrateSchema(currentDs)).toEqual([]);
  });

  it("undoes every migration back to the last release's schema, and redoes them", async () => {
    const undone: (string | null)[] = [];
    for (let i = 0; i < NAMES.length; i++) undone.push(await revertLastMigration(ds));
    expect(undone).toEqual([...NAMES].reverse());
    expect(await revertLastMigration(ds)).toBeNull();
    await ds.query('DROP TABLE migrations');
    expect(await schemaOf(ds)).toEqual(await schemaOf(baselineDs));
    expect(await rowsOf(ds, releasedColumns)).toEqual(before);

    expect(await migrateSchema(ds)).toEqual(NAMES);
    expect(await schemaOf(ds)).toEqual(await schemaOf(currentDs));
  });

  it('refuses to load init.sql over a database that has tables', async () => {
    const u = new URL(upgraded.url);
    const conn = await createConnection({ host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), multipleStatements: true });
    try {
      await expect(conn.query(initSqlFor(upgraded.name))).rejects.toThrow(/upgrade it with npm run migrate/);
    } finally {
      await conn.end();
    }
    expect(await migrationRows(ds)).toHaveLength(NAMES.length);
  });
});

describe('a database with no tables (npm run migrate, the Kubernetes migrate Job)', () => {
  let empty: TestDatabase;
  let current: TestDatabase;
  let ds: DataSource;
  let otherRun: DataSource;
  let currentDs: DataSource;
  let reads = 0;
  const initSql = () => {
    reads++;
    return readFileSync(join(REPO_ROOT, 'init.sql'), 'utf8');
  };

  beforeAll(async () => {
    [empty, current] = await Promise.all([createTestDatabase('mig_empty', undefined, null), createTestDatabase('mig_ref')]);
    // as tools/migrate.ts opens it, twice: two runs at once (a Job retried while the first still runs)
    const asMigrate = () => new DataSource(dataSourceOptions(empty.url, { poolSize: 2, queryTimeoutMs: 0, multipleStatements: true })).initialize();
    [ds, otherRun, currentDs] = await Promise.all([asMigrate(), asMigrate(), new DataSource(dataSourceOptions(current.url, { poolSize: 2 })).initialize()]);
  });

  afterAll(async () => {
    await Promise.all([ds, otherRun, currentDs].map((d) => d?.destroy()));
    await Promise.all([empty, current].map((db) => db?.drop()));
  });

  it('is refused by the migrations alone, saying how it is made', async () => {
    await expect(migrateSchema(ds)).rejects.toThrow(/no tables: `npm run migrate` makes it from init.sql/);
  });

  it("is made from init.sql, under its own name: the schema of record, at every migration", async () => {
    expect(await schemaStatus(ds)).toEqual({ hasSchema: false, applied: [], pending: NAMES, unknown: [] });
    // one of two runs at once makes it
    expect((await Promise.all([makeSchema(ds, initSql), makeSchema(otherRun, initSql)])).sort()).toEqual([false, true]);
    expect(reads).toBe(1);
    expect(await schemaStatus(ds)).toEqual({ hasSchema: true, applied: NAMES, pending: [], unknown: [] });
    expect(await schemaOf(ds)).toEqual(await schemaOf(currentDs));
    expect(await migrationRows(ds)).toEqual(await migrationRows(currentDs));
  });

  it('has nothing to do the second time, and never reads init.sql again', async () => {
    expect(await makeSchema(ds, initSql)).toBe(false);
    expect(await migrateSchema(ds)).toEqual([]);
    expect(reads).toBe(1);
  });
});

describe('the schema check at start (PersistenceModule)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const start = async () => (await NestFactory.createApplicationContext(PersistenceModule.forRoot(db.url), { logger: false, abortOnError: false })).close();

  beforeAll(async () => {
    db = await createTestDatabase('mig_check');
    ds = await new DataSource(dataSourceOptions(db.url, { poolSize: 2 })).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it("starts on a database at this build's schema", async () => {
    expect(await schemaStatus(ds)).toEqual({ hasSchema: true, applied: NAMES, pending: [], unknown: [] });
    await expect(start()).resolves.toBeUndefined();
  });

  it('refuses a newer schema, naming the migration it does not know; so does migrate', async () => {
    await ds.query("INSERT INTO migrations (timestamp, name) VALUES (1893456000000, 'FromTheFuture1893456000000')");
    try {
      await expect(start()).rejects.toThrow(/schema is newer than this build: it holds migration\(s\) FromTheFuture1893456000000/);
      await expect(migrateSchema(ds)).rejects.toThrow(SchemaVersionError);
    } finally {
      await ds.query("DELETE FROM migrations WHERE name = 'FromTheFuture1893456000000'");
    }
  });

  it('refuses an older schema: run npm run migrate', async () => {
    const last = NAMES.at(-1)!;
    await ds.query('DELETE FROM migrations WHERE name = ?', [last]);
    try {
      await expect(start()).rejects.toThrow(new RegExp(`schema is older than this build: migration\\(s\\) ${last} pending. Run \`npm run migrate\``));
    } finally {
      // its DDL is still there: running it again changes nothing (IF NOT EXISTS), and records it
      expect(await migrateSchema(ds)).toEqual([last]);
    }
    await expect(start()).resolves.toBeUndefined();
  });
});
