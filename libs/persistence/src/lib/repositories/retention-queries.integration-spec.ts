import { completeExecution, terminateSession } from '@sandbox/domain';
import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { LIVE_SESSIONS } from '../status-sql';
import { ExecutionRepository } from './execution.repository';
import { RetentionRepository } from './retention.repository';
import { RuntimeNodeRepository } from './runtime-node.repository';
import { SessionRepository } from './session.repository';

/** Retention's deletes on real MariaDB: only what is old enough, in bounded batches, through indexes. */
describe('retention queries on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let sessions: SessionRepository;
  let executions: ExecutionRepository;
  let nodes: RuntimeNodeRepository;
  let retention: RetentionRepository;
  let seq = 0;

  const session = async (opts: { endedDaysAgo?: number; key?: string } = {}) => {
    const id = `sess_${String(++seq).padStart(4, '0')}`;
    await sessions.insertWithinCap(
      {
        id,
        templateId: 'python-basic',
        tenant: 't',
        runtimeType: 'docker',
        envVars: {},
        timeout: 300,
        resources: { cpu: '1', memory: '512Mi', disk: '1Gi' },
        workspacePath: `s3://b/sessions/${id}/`,
        idempotency: opts.key ? { key: opts.key, requestHash: 'h'.repeat(64) } : null,
      },
      1000,
    );
    if (opts.endedDaysAgo !== undefined) {
      await sessions.transition(id, terminateSession);
      await ds.query('UPDATE sessions SET completed_at = NOW() - INTERVAL ? DAY WHERE id = ?', [opts.endedDaysAgo, id]);
    }
    return id;
  };
  const execution = async (sessionId: string) => {
    const id = `exec_${String(++seq).padStart(4, '0')}`;
    await executions.insertWithinCap({ id, sessionId, code: 'print(1)', language: 'python', stdin: null, timeout: 30, collect: null }, 100_000);
    await ds.query(`UPDATE executions SET status = ? WHERE id = ?`, [completeExecution.to, id]);
    return id;
  };
  const exists = async (table: string, id: string) => (await ds.query(`SELECT 1 FROM ${table} WHERE id = ?`, [id])).length === 1;

  beforeAll(async () => {
    db = await createTestDatabase('retention');
    ds = await new DataSource(dataSourceOptions(db.url)).initialize();
    sessions = new SessionRepository(ds);
    executions = new ExecutionRepository(ds);
    nodes = new RuntimeNodeRepository(ds);
    retention = new RetentionRepository(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('deletes ended sessions past the retention with all their executions, in batches, and nothing else', async () => {
    const old = await session({ endedDaysAgo: 31 });
    const manyRuns = await Promise.all(Array.from({ length: 25 }, () => execution(old)));
    const recent = await session({ endedDaysAgo: 29 });
    const recentRun = await execution(recent);
    const live = await session();
    const liveRun = await execution(live);
    // a live session whose completed_at is somehow old is still live: never taken
    await ds.query('UPDATE sessions SET completed_at = NOW() - INTERVAL 90 DAY WHERE id = ?', [live]);

    const ended = await retention.endedSessions(30, 10);
    expect(ended).toEqual([{ id: old, workspacePath: `s3://b/sessions/${old}/` }]);
    // batches of 10 executions per statement
    expect(await retention.deleteSessions([old], 30, 10)).toEqual({ sessions: 1, executions: 25 });
    expect(await exists('sessions', old)).toBe(false);
    for (const id of manyRuns) expect(await exists('executions', id)).toBe(false);
    for (const id of [recent, live]) expect(await exists('sessions', id)).toBe(true);
    for (const id of [recentRun, liveRun]) expect(await exists('executions', id)).toBe(true);
    expect(await retention.endedSessions(30, 10)).toEqual([]);
  });

  it('forgets Idempotency-Keys older than the TTL, so a key names a new request after it', async () => {
    const old = await session({ key: 'key-old' });
    const fresh = await session({ key: 'key-fresh' });
    await ds.query('UPDATE sessions SET created_at = NOW() - INTERVAL 25 HOUR WHERE id = ?', [old]);
    expect(await retention.forgetIdempotencyKeys(24, 100)).toEqual({ sessions: 1, executions: 0 });
    expect(await sessions.findByIdempotencyKey('t', 'key-old')).toBeNull();
    expect((await sessions.findByIdempotencyKey('t', 'key-fresh'))?.session.id).toBe(fresh);
    await session({ key: 'key-old' });
    expect(await retention.forgetIdempotencyKeys(24, 100)).toEqual({ sessions: 0, executions: 0 });
  });

  it('finds nodes lost for long that hold no live session, and deletes them unless they came back', async () => {
    const register = (id: string) => nodes.register({ id, hostname: 'h', version: 'v', capacity: 4, labels: {} });
    for (const id of ['n-dead', 'n-dead-bound', 'n-lost-recently', 'n-alive']) await register(id);
    await ds.query("UPDATE runtime_nodes SET status = 'offline', last_heartbeat_at = NOW() - INTERVAL 2 DAY WHERE id IN ('n-dead', 'n-dead-bound')");
    await ds.query("UPDATE runtime_nodes SET status = 'offline', last_heartbeat_at = NOW() - INTERVAL 1 HOUR WHERE id = 'n-lost-recently'");
    const bound = await session();
    await ds.query("UPDATE sessions SET runtime_node = 'n-dead-bound' WHERE id = ?", [bound]);
    expect(await retention.deadNodes(24, 10)).toEqual(['n-dead']);
    await register('n-dead');
    expect(await retention.deleteNode('n-dead', 24)).toBe(false);
    await ds.query("UPDATE runtime_nodes SET status = 'offline', last_heartbeat_at = NOW() - INTERVAL 2 DAY WHERE id = 'n-dead'");
    expect(await retention.deleteNode('n-dead', 24)).toBe(true);
    expect(await retention.knownNodes(['n-dead', 'n-alive', 'n-never'])).toEqual(new Set(['n-alive']));
  });

  it('reads through indexes: no statement of a retention tick scans its table', async () => {
    const plans: [string, string, unknown[]][] = [
      ['sessions', `SELECT id FROM sessions WHERE completed_at < NOW() - INTERVAL 30 DAY AND status NOT IN (${LIVE_SESSIONS}) ORDER BY completed_at LIMIT 100`, []],
      ['sessions', 'SELECT id FROM sessions WHERE idempotency_key IS NOT NULL AND created_at < NOW() - INTERVAL 24 HOUR LIMIT 100', []],
      ['executions', 'SELECT id FROM executions WHERE idempotency_key IS NOT NULL AND created_at < NOW() - INTERVAL 24 HOUR LIMIT 100', []],
      ['executions', "SELECT id FROM executions WHERE session_id IN ('a', 'b') LIMIT 100", []],
    ];
    for (const [table, sql] of plans) {
      // on a table this small the optimizer may prefer a scan: forcing the index shows it serves the
      // condition as a range, as it will on a big table
      const [plan] = await ds.query(`EXPLAIN ${sql.replace(`FROM ${table}`, `FROM ${table} FORCE INDEX FOR JOIN (${indexFor(sql)})`)}`);
      expect({ sql, type: plan.type, key: plan.key }).toEqual({ sql, type: expect.not.stringMatching(/^ALL$/), key: indexFor(sql) });
    }
  });
});

function indexFor(sql: string): string {
  if (sql.includes('completed_at')) return 'idx_completed';
  if (sql.includes('idempotency_key')) return 'idx_idempotency_created';
  return 'idx_session';
}
