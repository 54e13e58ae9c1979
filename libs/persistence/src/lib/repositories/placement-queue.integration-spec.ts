import { bindSession, failSession, terminateSession } from '@sandbox/domain';
import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { ExecutionRepository } from './execution.repository';
import { RuntimeNodeRepository } from './runtime-node.repository';
import { SessionRepository } from './session.repository';

/** The placement queue (sessions waiting for a node) and the door's backlog query, on real MariaDB. */
describe('placement queue on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let sessions: SessionRepository;
  let executions: ExecutionRepository;
  let nodes: RuntimeNodeRepository;
  let seq = 0;

  // waiting since `secondsAgo` (distinct times keep the order exact)
  const waiting = async (tenant: string, secondsAgo: number) => {
    const id = `sess_${String(++seq).padStart(4, '0')}`;
    await sessions.insertWithinCap({ id, templateId: 'python-basic', tenant, runtimeType: 'docker', envVars: {}, timeout: 300, resources: { cpu: '1', memory: '512Mi', disk: '1Gi' }, workspacePath: null }, 1000);
    await ds.query('UPDATE sessions SET placement_requested_at = NOW(3) - INTERVAL ? MICROSECOND WHERE id = ?', [Math.round(secondsAgo * 1e6), id]);
    return id;
  };
  const clear = () => ds.query('DELETE FROM sessions');
  // the fair window, seconds (the placement timeout in production)
  const WINDOW = 300;

  beforeAll(async () => {
    db = await createTestDatabase('placement');
    ds = await new DataSource(dataSourceOptions(db.url)).initialize();
    sessions = new SessionRepository(ds);
    executions = new ExecutionRepository(ds);
    nodes = new RuntimeNodeRepository(ds);
  });

  afterEach(clear);

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('puts a new session in the queue, and takes it out when bound or ended', async () => {
    const id = await waiting('t', 0);
    const fresh = (await sessions.findById(id))!;
    expect(fresh.placementRequestedAt).toBeInstanceOf(Date);
    expect(await sessions.queuePlace(id, WINDOW)).toMatchObject({ position: 1 });
    expect(await sessions.bind(id, 'n1', 'c1', bindSession)).toBe(true);
    expect(await sessions.queuePlace(id, WINDOW)).toBeNull();
    const other = await waiting('t', 0);
    await sessions.transition(other, terminateSession);
    expect(await sessions.waitingInFairOrder(10, WINDOW)).toEqual([]);
  });

  it('serves tenants round-robin: a burst of 200 delays another tenant one turn at most', async () => {
    const burst: string[] = [];
    for (let i = 0; i < 200; i++) burst.push(await waiting('burst', 100 - i * 0.01));
    const single = await waiting('single', 1);
    const other = [await waiting('other', 50), await waiting('other', 40)];
    const order = async () => (await sessions.waitingInFairOrder(6, WINDOW)).map((s) => s.id);
    // round 1: each tenant's oldest, oldest first; round 2 likewise
    expect(await order()).toEqual([burst[0], other[0], single, burst[1], other[1], burst[2]]);
    expect(await sessions.queuePlace(single, WINDOW)).toMatchObject({ position: 3 });
    expect(await sessions.queuePlace(burst[199]!, WINDOW)).toMatchObject({ position: 203 });
    // the burst's first one placed: its second is in round 2 still, behind the other tenants' first
    await sessions.bind(burst[0]!, 'n1', 'c1', bindSession);
    expect(await order()).toEqual([other[0], single, burst[1], other[1], burst[2], burst[3]]);
    expect(await sessions.queuePlace(single, WINDOW)).toMatchObject({ position: 2 });
  });

  it('finds sessions waiting past the timeout, and fails only those still waiting', async () => {
    const old = await waiting('t', 70);
    const placed = await waiting('t', 80);
    await waiting('t', 5);
    expect(await sessions.waitingLongerThan(60, 10)).toEqual([placed, old]);
    await sessions.bind(placed, 'n1', 'c1', bindSession);
    expect(await sessions.failWaiting(placed, failSession, 'no room', 'no_capacity')).toBe(false);
    expect(await sessions.failWaiting(old, failSession, 'no room', 'no_capacity')).toBe(true);
    expect(await sessions.findById(old)).toMatchObject({ status: 'failed', errorCode: 'no_capacity', error: 'no room' });
    expect(await sessions.waitingLongerThan(60, 10)).toEqual([]);
    expect((await sessions.findById(placed))!.status).toBe('running');
  });

  it('fails pending executions with reason no_capacity', async () => {
    const id = await waiting('t', 0);
    await executions.insertWithinCap({ id: 'exec_nc', sessionId: id, code: 'print(1)', language: 'python', stdin: null, timeout: 30, collect: null }, 10);
    expect(await executions.cancelPending(id, 'no room', 'no_capacity')).toBe(1);
    expect(await executions.findById('exec_nc')).toMatchObject({ status: 'failed', reason: 'no_capacity', error: 'no room' });
  });

  it('sums the queue and the free sessions of fresh online nodes in one read', async () => {
    await nodes.register({ id: 'n-free', hostname: 'h', version: 'v', capacity: 4, labels: {} });
    await nodes.reportCapacity('n-free', { memoryBytes: 8e9, cpuNanos: 8e9, freeMemoryBytes: 4e9, freeCpuNanos: 4e9, freeSessions: 3 });
    await nodes.register({ id: 'n-stale', hostname: 'h', version: 'v', capacity: 4, labels: {} });
    await nodes.reportCapacity('n-stale', { memoryBytes: 8e9, cpuNanos: 8e9, freeMemoryBytes: 8e9, freeCpuNanos: 8e9, freeSessions: 5 });
    await ds.query('UPDATE runtime_nodes SET last_heartbeat_at = NOW() - INTERVAL 60 SECOND WHERE id = ?', ['n-stale']);
    await waiting('t', 12);
    await waiting('u', 2);
    const b = await sessions.backlog(10);
    expect(b).toMatchObject({ waiting: 2, freeSessions: 3, nodes: 1 });
    expect(b.oldestWaitSeconds).toBeGreaterThanOrEqual(12);
    expect(b.oldestWaitSeconds).toBeLessThan(20);
    expect((await nodes.findById('n-free'))!.budget).toEqual({ memoryBytes: 8e9, cpuNanos: 8e9, freeMemoryBytes: 4e9, freeCpuNanos: 4e9, freeSessions: 3 });
    await ds.query('DELETE FROM runtime_nodes');
  });
});
