import { bindSession, completeExecution, drainNode, terminateSession, undrainNode } from '@sandbox/domain';
import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { ExecutionRepository } from './execution.repository';
import { RuntimeNodeRepository } from './runtime-node.repository';
import { SessionRepository } from './session.repository';

/** What the reaper reads and writes, on real MariaDB; ages are set back on the database clock. */
describe('recovery queries on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let sessions: SessionRepository;
  let executions: ExecutionRepository;
  let nodes: RuntimeNodeRepository;
  let seq = 0;

  const age = (table: string, column: string, id: string, seconds: number) =>
    ds.query(`UPDATE ${table} SET ${column} = NOW() - INTERVAL ? SECOND WHERE id = ?`, [seconds, id]);
  const node = async (id: string, heartbeatAgo = 0) => {
    await nodes.register({ id, hostname: 'h', version: 'v', capacity: 4, labels: {} });
    if (heartbeatAgo) await age('runtime_nodes', 'last_heartbeat_at', id, heartbeatAgo);
  };
  const session = async (boundTo?: string, timeout = 300) => {
    const id = `sess_${String(++seq).padStart(4, '0')}`;
    await sessions.insertWithinCap({ id, templateId: 'python-basic', tenant: 't', runtimeType: 'docker', envVars: {}, timeout, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: null }, 1000);
    if (boundTo) await sessions.bind(id, boundTo, `c-${id}`, bindSession);
    return id;
  };
  const execution = async (sessionId: string) => {
    const id = `exec_${String(++seq).padStart(4, '0')}`;
    await executions.insertWithinCap({ id, sessionId, code: 'print(1)', language: 'python', stdin: null, timeout: 30, collect: null }, 1000);
    return id;
  };

  beforeAll(async () => {
    db = await createTestDatabase('recovery');
    ds = await new DataSource(dataSourceOptions(db.url)).initialize();
    sessions = new SessionRepository(ds);
    executions = new ExecutionRepository(ds);
    nodes = new RuntimeNodeRepository(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('keeps a node declared lost from looking alive again until it registers anew', async () => {
    await node('n-fence');
    expect(await nodes.heartbeat('n-fence', 0)).toBe('online');
    await age('runtime_nodes', 'last_heartbeat_at', 'n-fence', 60);
    expect(await nodes.markLost(10)).toContain('n-fence');
    expect(await nodes.heartbeat('n-fence', 0)).toBe('offline');
    const [row] = await ds.query('SELECT TIMESTAMPDIFF(SECOND, last_heartbeat_at, NOW()) AS age FROM runtime_nodes WHERE id = ?', ['n-fence']);
    expect(Number(row.age)).toBeGreaterThanOrEqual(59);
    expect(await nodes.heartbeat('n-unknown', 0)).toBe('missing');
    await node('n-fence');
    expect(await nodes.heartbeat('n-fence', 0)).toBe('online');
  });

  it('moves a node between online and draining only from the expected status', async () => {
    await node('n-drain');
    expect(await nodes.transition('n-drain', drainNode)).toBe(true);
    expect(await nodes.transition('n-drain', drainNode)).toBe(false);
    expect(await nodes.heartbeat('n-drain', 1)).toBe('draining');
    expect(await nodes.transition('n-drain', undrainNode)).toBe(true);
  });

  it('finds running executions lost with their agent, by their heartbeat or their node', async () => {
    await node('n-live');
    await node('n-dead', 60);
    const onLive = await session('n-live');
    const onDead = await session('n-dead');
    const fresh = await execution(onLive);
    const staleBeat = await execution(await session('n-live'));
    const deadNode = await execution(onDead);
    for (const [e, s, n] of [[fresh, onLive, 'n-live'], [deadNode, onDead, 'n-dead']] as const) {
      expect((await executions.claimNext(s, n))?.id).toBe(e);
    }
    const [staleSession] = await ds.query('SELECT session_id FROM executions WHERE id = ?', [staleBeat]);
    expect((await executions.claimNext(staleSession.session_id, 'n-live'))?.id).toBe(staleBeat);
    await age('executions', 'last_heartbeat_at', staleBeat, 30);
    const lost = (await executions.lost(10, 100)).map((l) => l.id);
    expect(lost).toEqual(expect.arrayContaining([staleBeat, deadNode]));
    expect(lost).not.toContain(fresh);
  });

  it('retries a lost attempt once, fenced by the attempt, recording it in the history', async () => {
    await node('n-r');
    const s = await session('n-r');
    const e = await execution(s);
    await executions.claimNext(s, 'n-r');
    await age('executions', 'last_heartbeat_at', e, 30);
    const [lost] = (await executions.lost(10, 100)).filter((l) => l.id === e);
    expect(lost).toMatchObject({ attempt: 1, retryCount: 0, node: 'n-r' });
    const verdicts = await Promise.all([0, 1, 2].map(() => executions.endLostAttempt(lost!, 'retry', '')));
    expect(verdicts.filter(Boolean)).toHaveLength(1);
    const retried = (await executions.findById(e))!;
    expect(retried).toMatchObject({ status: 'pending', attempt: 2, retryCount: 1, runtimeNode: null, startedAt: null });
    expect(retried.attempts).toEqual([{ attempt: 1, node: 'n-r', started_at: expect.any(String), ended_at: expect.any(String), outcome: 'agent_lost' }]);
    // the lost agent's late result is fenced out
    const done = { stdout: 'late', stderr: '', stdoutTruncated: false, stderrTruncated: false, exitCode: 0, executionTime: 0, error: null, reason: 'exited' as const };
    expect(await executions.finish({ id: e, attempt: 1, node: 'n-r' }, completeExecution, done)).toBe(false);
    await executions.claimNext(s, 'n-r');
    expect(await executions.finish({ id: e, attempt: 2, node: 'n-r' }, completeExecution, done)).toBe(true);
    expect((await executions.findById(e))!.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'agent_lost'],
      [2, 'completed'],
    ]);
  });

  it('crashes an execution whose agent was lost past the retries, with its reason', async () => {
    await node('n-c');
    const s = await session('n-c');
    const e = await execution(s);
    await executions.claimNext(s, 'n-c');
    await age('executions', 'last_heartbeat_at', e, 30);
    const [lost] = (await executions.lost(10, 100)).filter((l) => l.id === e);
    expect(await executions.endLostAttempt(lost!, 'crash', 'lost too often')).toBe(true);
    expect(await executions.findById(e)).toMatchObject({ status: 'crashed', error: 'lost too often', retryCount: 0, attempt: 1 });
  });

  it('unbinds the live sessions of lost nodes, only from the node they are bound to', async () => {
    await node('n-gone', 60);
    await node('n-here');
    const moved = await session('n-gone');
    const kept = await session('n-here');
    const ended = await session('n-gone');
    await sessions.transition(ended, terminateSession);
    const found = await sessions.onLostNodes(10, 100);
    expect(found).toContainEqual({ id: moved, node: 'n-gone' });
    expect(found.map((f) => f.id)).not.toContain(kept);
    expect(found.map((f) => f.id)).not.toContain(ended);
    expect(await sessions.unbind(moved, 'n-other')).toBe(false);
    expect(await sessions.unbind(moved, 'n-gone')).toBe(true);
    expect(await sessions.findById(moved)).toMatchObject({ status: 'running', runtimeNode: null, containerId: null });
    // placed again on another node
    expect(await sessions.bind(moved, 'n-here', 'c-new', bindSession)).toBe(true);
  });

  it("finds the oldest waiting execution of sessions that run nothing, once they waited long enough", async () => {
    await node('n-s');
    const idle = await session('n-s');
    const first = await execution(idle);
    await execution(idle);
    const busy = await session('n-s');
    await execution(busy);
    await executions.claimNext(busy, 'n-s');
    const queued = await execution(busy);
    for (const id of [first, queued]) await age('executions', 'created_at', id, 60);
    const stalled = await executions.stalled(10, 100);
    expect(stalled).toContainEqual({ id: first, sessionId: idle, attempt: 1 });
    expect(stalled.map((w) => w.id)).not.toContain(queued);
    expect(await executions.oldestPending([idle, busy])).toEqual(
      expect.arrayContaining([
        { id: first, sessionId: idle, attempt: 1 },
        { id: queued, sessionId: busy, attempt: 1 },
      ]),
    );
  });

  it('expires idle sessions (not those with work running or queued) and sessions past the lifetime', async () => {
    await node('n-x');
    const idle = await session('n-x', 10);
    const working = await session('n-x', 10);
    await execution(working);
    const old = await session('n-x', 3600);
    const young = await session('n-x', 10);
    for (const id of [idle, working]) await age('sessions', 'last_activity_at', id, 30);
    await age('sessions', 'created_at', old, 7200);
    const expired = new Map((await sessions.expired(3600, 100)).map((x) => [x.session.id, x.reason]));
    expect(expired.get(idle)).toBe('idle');
    expect(expired.get(old)).toBe('lifetime');
    expect(expired.has(working)).toBe(false);
    expect(expired.has(young)).toBe(false);
  });

  it('finds the workspaces past retention: ended sessions only, oldest end first, then forgets them', async () => {
    const [old, older, recent, live] = [await session(), await session(), await session(), await session()];
    for (const id of [old, older, recent]) await sessions.transition(id, terminateSession);
    for (const id of [old, older, recent, live]) await ds.query("UPDATE sessions SET workspace_path = 's3://b/x' WHERE id = ?", [id]);
    await age('sessions', 'completed_at', old, 8 * 86_400);
    await age('sessions', 'completed_at', older, 9 * 86_400);
    await age('sessions', 'completed_at', recent, 6 * 86_400);
    // a live session's clock does not count, however old its row
    await age('sessions', 'created_at', live, 30 * 86_400);
    const due = (await sessions.withExpiredWorkspace(7, 100)).map((s) => s.id).filter((id) => [old, older, recent, live].includes(id));
    expect(due).toEqual([older, old]);
    await sessions.clearWorkspace(older);
    await sessions.clearWorkspace(live);
    expect((await sessions.findById(older))?.workspacePath).toBeNull();
    expect((await sessions.findById(live))?.workspacePath).toBe('s3://b/x');
    expect((await sessions.withExpiredWorkspace(7, 100)).map((s) => s.id)).not.toContain(older);
  });

  it('cancels pending executions of sessions that ended', async () => {
    const s = await session();
    const e = await execution(s);
    await sessions.transition(s, terminateSession);
    expect(await executions.cancelPendingOfEndedSessions()).toBeGreaterThanOrEqual(1);
    expect(await executions.findById(e)).toMatchObject({ status: 'failed', error: 'the session ended (terminated) before the execution started' });
  });
});
