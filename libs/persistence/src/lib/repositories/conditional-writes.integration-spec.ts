import { bindSession, completeExecution, terminateSession } from '@sandbox/domain';
import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { ExecutionRepository } from './execution.repository';
import { SessionRepository } from './session.repository';

const RACERS = 16;

/**
 * The conditional UPDATEs behind I1, I2 and I4, raced for real: every racer has its own agent-like
 * DataSource (its own connections), all fire at once at MariaDB, and exactly one may win.
 */
describe('conditional writes on MariaDB', () => {
  let db: TestDatabase;
  let racers: DataSource[];
  let sessions: SessionRepository;
  let executions: ExecutionRepository;
  let seq = 0;

  const newSession = async () => {
    const id = `sess_${++seq}`;
    await sessions.insertWithinCap({ id, templateId: 'python-basic', tenant: 't', runtimeType: 'docker', envVars: {}, timeout: 300, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: null }, 1000);
    return id;
  };
  const newExecution = async (sessionId: string, id: string) =>
    executions.insertWithinCap({ id, sessionId, code: 'print(1)', language: 'python', stdin: null, timeout: 30, collect: null }, 1000);

  beforeAll(async () => {
    db = await createTestDatabase('condwrites');
    racers = await Promise.all(Array.from({ length: RACERS }, () => new DataSource(dataSourceOptions(db.url, { poolSize: 2 })).initialize()));
    sessions = new SessionRepository(racers[0]!);
    executions = new ExecutionRepository(racers[0]!);
  });

  afterAll(async () => {
    await Promise.all((racers ?? []).map((ds) => ds.destroy()));
    await db?.drop();
  });

  it('binds a session to exactly one of many racing nodes (I1), every time', async () => {
    for (let round = 0; round < 10; round++) {
      const id = await newSession();
      const wins = await Promise.all(racers.map((ds, i) => new SessionRepository(ds).bind(id, `node-${i}`, `container-${i}`, bindSession)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = wins.indexOf(true);
      expect(await sessions.findById(id)).toMatchObject({ status: 'running', runtimeNode: `node-${winner}`, containerId: `container-${winner}` });
    }
  });

  it('never binds a session that ended first, and never binds one twice', async () => {
    const ended = await newSession();
    expect(await sessions.transition(ended, terminateSession)).toBe(true);
    expect(await sessions.bind(ended, 'node-a', 'c-a', bindSession)).toBe(false);
    expect(await sessions.transition(ended, terminateSession)).toBe(false);
    const bound = await newSession();
    expect(await sessions.bind(bound, 'node-a', 'c-a', bindSession)).toBe(true);
    expect(await sessions.bind(bound, 'node-a', 'c-b', bindSession)).toBe(false);
    expect((await sessions.findById(bound))?.containerId).toBe('c-a');
  });

  it('keeps alive, and sets the idle timeout of, only a live session', async () => {
    const id = await newSession();
    expect(await sessions.keepAlive(id, 60)).toBe(true);
    expect(await sessions.keepAlive(id)).toBe(true);
    expect((await sessions.findById(id))?.timeout).toBe(60);
    expect(await sessions.transition(id, terminateSession)).toBe(true);
    expect(await sessions.keepAlive(id, 900)).toBe(false);
    expect((await sessions.findById(id))?.timeout).toBe(60);
  });

  it("lets only the session's own node claim its executions, oldest first, one claimer winning (I2)", async () => {
    const id = await newSession();
    await sessions.bind(id, 'node-3', 'c', bindSession);
    for (const e of ['exec_3', 'exec_1', 'exec_2']) await newExecution(id, e);
    const claims = await Promise.all(racers.map((ds, i) => new ExecutionRepository(ds).claimNext(id, `node-${i}`)));
    expect(claims.map((c, i) => c && [i, c.id]).filter(Boolean)).toEqual([[3, 'exec_1']]);
    expect(claims[3]).toMatchObject({ status: 'running', attempt: 1, runtimeNode: 'node-3' });
    // one at a time: nothing more while exec_1 runs
    expect(await executions.claimNext(id, 'node-3')).toBeNull();
    const done = { stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, exitCode: 0, executionTime: 0, error: null, reason: 'exited' as const };
    await executions.finish({ id: 'exec_1', attempt: 1, node: 'node-3' }, completeExecution, done);
    expect((await executions.claimNext(id, 'node-3'))?.id).toBe('exec_2');
    await executions.finish({ id: 'exec_2', attempt: 1, node: 'node-3' }, completeExecution, done);
    expect((await executions.claimNext(id, 'node-3'))?.id).toBe('exec_3');
    await executions.finish({ id: 'exec_3', attempt: 1, node: 'node-3' }, completeExecution, done);
    expect(await executions.claimNext(id, 'node-3')).toBeNull();
  });

  it("keeps a tenant's live sessions at its cap when creations race", async () => {
    const row = (i: number) => ({ id: `sess_cap_${i}`, templateId: 'python-basic', tenant: 'capped', runtimeType: 'docker' as const, envVars: {}, timeout: 300, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: null });
    const answers = await Promise.all(racers.map((ds, i) => new SessionRepository(ds).insertWithinCap(row(i), 5)));
    expect(answers.filter((a) => a === null)).toHaveLength(5);
    expect(answers.filter((a) => a !== null)).toEqual(Array(RACERS - 5).fill(5));
    expect((await sessions.list({ limit: 100, tenant: 'capped' })).items).toHaveLength(5);
  });

  it("keeps a session's queued executions at its cap when submissions race", async () => {
    const id = await newSession();
    const answers = await Promise.all(
      racers.map((ds, i) => new ExecutionRepository(ds).insertWithinCap({ id: `exec_cap_${i}`, sessionId: id, code: '', language: 'python', stdin: null, timeout: 30, collect: null }, 3)),
    );
    expect(answers.filter((a) => a === null)).toHaveLength(3);
    expect((await executions.listBySession(id, { limit: 100 })).items).toHaveLength(3);
  });

  it('stores one row per Idempotency-Key when retries race', async () => {
    const id = await newSession();
    const attempts = await Promise.allSettled(
      racers.map((ds, i) =>
        new ExecutionRepository(ds).insertWithinCap(
          { id: `exec_idem_${i}`, sessionId: id, code: '', language: 'python', stdin: null, timeout: 30, collect: null, idempotency: { key: 'k1', requestHash: 'h' } },
          100,
        ),
      ),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    expect(attempts.filter((a) => a.status === 'rejected').map((a) => (a as PromiseRejectedResult).reason.code)).toEqual(Array(RACERS - 1).fill('ER_DUP_ENTRY'));
    expect(await executions.findByIdempotencyKey(id, 'k1')).toMatchObject({ requestHash: 'h', execution: { sessionId: id } });
  });

  it('claims nothing for a session that ended or moved to another node', async () => {
    const id = await newSession();
    await newExecution(id, 'exec_unbound');
    expect(await executions.claimNext(id, 'node-a')).toBeNull();
    await sessions.bind(id, 'node-a', 'c', bindSession);
    expect(await executions.claimNext(id, 'node-b')).toBeNull();
    await sessions.transition(id, terminateSession);
    expect(await executions.claimNext(id, 'node-a')).toBeNull();
    expect((await executions.findById('exec_unbound'))?.status).toBe('pending');
  });

  it('records a result once: the fence keeps out a stale attempt and a second writer (I4)', async () => {
    const id = await newSession();
    await sessions.bind(id, 'node-a', 'c', bindSession);
    await newExecution(id, 'exec_fenced');
    const claimed = (await executions.claimNext(id, 'node-a'))!;
    const result = { stdout: 'late', stderr: '', stdoutTruncated: false, stderrTruncated: false, exitCode: 0, executionTime: 0.1, error: null, reason: 'exited' as const };
    expect(await executions.finish({ id: claimed.id, attempt: 2, node: 'node-a' }, completeExecution, result)).toBe(false);
    expect(await executions.finish({ id: claimed.id, attempt: 1, node: 'node-b' }, completeExecution, result)).toBe(false);
    const writes = await Promise.all(
      racers.map((ds, i) => new ExecutionRepository(ds).finish({ id: claimed.id, attempt: 1, node: 'node-a' }, completeExecution, { ...result, stdout: `writer ${i}` })),
    );
    expect(writes.filter(Boolean)).toHaveLength(1);
    expect(await executions.findById(claimed.id)).toMatchObject({ status: 'completed', stdout: `writer ${writes.indexOf(true)}` });
  });

  it('stamps heartbeats on the database clock only for attempts the node still runs', async () => {
    const id = await newSession();
    await sessions.bind(id, 'node-a', 'c', bindSession);
    await newExecution(id, 'exec_beat');
    const claimed = (await executions.claimNext(id, 'node-a'))!;
    await racers[0]!.query('UPDATE executions SET last_heartbeat_at = NOW() - INTERVAL 1 HOUR WHERE id = ?', [claimed.id]);
    await executions.heartbeat('node-b', [{ id: claimed.id, attempt: 1, node: 'node-b' }]);
    const [stale] = await racers[0]!.query('SELECT TIMESTAMPDIFF(SECOND, last_heartbeat_at, NOW()) AS age FROM executions WHERE id = ?', [claimed.id]);
    expect(Number(stale.age)).toBeGreaterThanOrEqual(3599);
    await executions.heartbeat('node-a', [{ id: claimed.id, attempt: 1, node: 'node-a' }]);
    const [fresh] = await racers[0]!.query('SELECT TIMESTAMPDIFF(SECOND, last_heartbeat_at, NOW()) AS age FROM executions WHERE id = ?', [claimed.id]);
    expect(Number(fresh.age)).toBeLessThanOrEqual(1);
  });
});
