import { listAll } from '@sandbox/storage';
import { QueueProducer } from '@sandbox/queue';
import { freePort, TestPlatform } from '@sandbox/testing';

/**
 * What grows with use is deleted by the reaper once old enough, judged on the database clock (ages
 * are set back, never waited for): ended sessions with their executions and stored files, old
 * Idempotency-Keys, dead nodes with their queues in Redis. What is live or recent stays.
 */
describe('data retention by the reaper', () => {
  let p: TestPlatform;
  let producer: QueueProducer;
  let metricsPort: number;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-data-retain', { warmPool: 'python-basic=2' });
    producer = new QueueProducer({ redisUrl: p.redisUrl, prefix: p.prefix });
    metricsPort = await freePort();
    // workspaces kept by their own retention: the session's retention must delete its files itself
    p.startReaper({ SESSION_RETENTION_DAYS: '30', WORKSPACE_RETENTION_DAYS: '0', RETENTION_INTERVAL_MS: '300', METRICS_PORT: String(metricsPort) });
  });

  afterAll(async () => {
    await producer?.close();
    await p?.stop();
  });

  const stored = async (id: string) => (await listAll(p.storage.store, `sessions/${id}/`)).length;
  const count = async (sql: string, params: unknown[]) => Number((await p.query<{ n: number }>(sql, params))[0]!.n);
  const counter = async (action: string, outcome: string) => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: p.authorization() })).text();
    const line = text.split('\n').find((l) => l.startsWith(`sandbox_reaper_actions_total{action="${action}",outcome="${outcome}",`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('deletes an ended session past the retention with its executions and stored files; a recent and a live one stay', async () => {
    const [old, recent, live] = await Promise.all([p.session(), p.session(), p.session()]);
    for (const s of [old, recent, live]) {
      expect((await p.api('PUT', `/v1/sessions/${s.id}/files/in.txt`, 'uploaded', { 'content-type': 'text/plain' })).status).toBe(201);
      await p.execute(s.id, { code: 'open("out.txt", "w").write("made")' });
      await p.execute(s.id, { code: 'print(1)' });
    }
    for (const s of [old, recent]) expect((await p.api('DELETE', `/v1/sessions/${s.id}`)).status).toBe(200);
    await p.query('UPDATE sessions SET completed_at = NOW() - INTERVAL 31 DAY WHERE id = ?', [old.id]);
    await p.until('old session deleted', async () => (await p.api('GET', `/v1/sessions/${old.id}`)).status === 404);
    expect(await count('SELECT COUNT(*) AS n FROM executions WHERE session_id = ?', [old.id])).toBe(0);
    expect(await stored(old.id)).toBe(0);
    for (const s of [recent, live]) {
      expect((await p.api('GET', `/v1/sessions/${s.id}`)).status).toBe(200);
      expect(await count('SELECT COUNT(*) AS n FROM executions WHERE session_id = ?', [s.id])).toBe(2);
      expect(await stored(s.id)).toBe(2);
    }
    expect(await counter('session', 'deleted')).toBe(1);
    expect(await counter('execution', 'deleted')).toBe(2);
    expect(await counter('workspace_object', 'deleted')).toBe(2);
  });

  it('forgets an Idempotency-Key after 24 h: the same key then makes a new session', async () => {
    const key = { 'idempotency-key': `retained-${p.prefix}` };
    const first = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, key);
    expect(first.status).toBe(201);
    expect((await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, key)).body.id).toBe(first.body.id);
    await p.query('UPDATE sessions SET created_at = NOW() - INTERVAL 25 HOUR WHERE id = ?', [first.body.id]);
    await p.until('key forgotten', async () => (await p.query('SELECT idempotency_key FROM sessions WHERE id = ?', [first.body.id]))[0].idempotency_key === null);
    const again = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, key);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
    expect(await counter('idempotency_key', 'forgotten')).toBeGreaterThanOrEqual(1);
  });

  it('removes a node lost for long with its queue, and a queue no node owns; the live node keeps its own', async () => {
    const live = [...p.agents.keys()][0]!;
    const doorbell = { execution_id: 'exec_gone', session_id: 'sess_gone', attempt: 1 };
    await p.query(
      "INSERT INTO runtime_nodes (id, hostname, version, status, capacity, last_heartbeat_at) VALUES ('dead-node', 'h', 'v', 'offline', 4, NOW() - INTERVAL 2 DAY)",
    );
    await producer.add('node', 'run-execution', doorbell, { jobId: 'exec_gone-1', nodeId: 'dead-node' });
    await producer.add('node', 'run-execution', doorbell, { jobId: 'exec_gone-1', nodeId: 'ghost-node' });
    await p.until('dead node and queues gone', async () => {
      const queues = await producer.nodeQueueIds();
      const rows = await p.query("SELECT id FROM runtime_nodes WHERE id = 'dead-node'");
      return !queues.includes('dead-node') && !queues.includes('ghost-node') && rows.length === 0;
    });
    expect((await p.query('SELECT status FROM runtime_nodes WHERE id = ?', [live]))[0].status).toBe('online');
    expect(await counter('node', 'removed')).toBe(1);
    expect(await counter('node_queue', 'obliterated')).toBe(2);
    // the live node still takes work on its queue
    const s = await p.session();
    expect((await p.execute(s.id, { code: 'print("still here")' })).stdout).toBe('still here\n');
  });
});
