import { TestPlatform } from '@sandbox/testing';

const MiB = 2 ** 20;
// a python-basic session holds 512Mi + a 1Gi workspace + 64Mi /tmp + 16Mi shm + 32Mi overhead
const SESSION_MIB = 512 + 1024 + 64 + 16 + 32;
// long enough for a freed container to be removed and the next session placed on a busy machine
const PLACEMENT_TIMEOUT = 25;

/**
 * A node at its budget (room for two sessions): new sessions wait in the placement queue, visibly and
 * fairly across tenants, for at most PLACEMENT_TIMEOUT_SECONDS; the door refuses what the queue cannot
 * place in time. Real agent, reaper, Docker and MariaDB.
 */
describe('a saturated node', () => {
  let p: TestPlatform;
  let burst: Record<string, string>;
  let solo: Record<string, string>;
  const held: string[] = [];
  const queued: Record<string, string> = {};
  let queuedExecution = '';

  const status = async (id: string) => (await p.api('GET', `/v1/sessions/${id}`)).body;
  const create = async (as: Record<string, string> = {}) => {
    const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, as);
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    const env = { PLACEMENT_TIMEOUT_SECONDS: String(PLACEMENT_TIMEOUT) };
    p = await TestPlatform.start('e2e-saturation', {
      warmPool: 'python-basic=1',
      agentEnv: { AGENT_MEMORY_BYTES: String((2 * SESSION_MIB + 100) * MiB) },
      controlPlaneEnv: env,
    });
    p.startReaper(env);
    burst = p.authorization((await p.createKey('tenant', 'burst')).secret);
    solo = p.authorization((await p.createKey('tenant', 'solo')).secret);
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('fails a session whose image is missing at once, with error code image_missing', async () => {
    await p.query(
      `INSERT INTO templates (id, name, image, base_image, language, pre_installed_packages, default_resources_cpu, default_resources_memory, default_resources_disk, limits)
       SELECT 'python-gone', 'Gone', 'sandbox-no-such-image:0', base_image, language, pre_installed_packages, default_resources_cpu, default_resources_memory, default_resources_disk, limits
       FROM templates WHERE id = 'python-basic'`,
    );
    const r = await p.api('POST', '/v1/sessions', { template_id: 'python-gone' });
    const failed = await p.until('session failed', async () => {
      const s = await status(r.body.id);
      return s.status === 'failed' && s;
    });
    expect(failed).toMatchObject({ error_code: 'image_missing', placement: null });
    expect(failed.error).toMatch(/sandbox-no-such-image:0/);
  });

  it('holds sessions up to the memory budget, tmpfs and shm counted, and shows what is free', async () => {
    for (let i = 0; i < 2; i++) held.push((await p.session()).id);
    const [node] = await p.until('node full', async () => {
      const rows = await p.query('SELECT memory_bytes, free_memory_bytes, free_sessions FROM runtime_nodes WHERE id = ?', [p.nodeIds[0]]);
      return Number(rows[0]?.free_sessions) === 0 && rows;
    });
    expect(Number(node.memory_bytes)).toBe((2 * SESSION_MIB + 100) * MiB);
    expect(Number(node.free_memory_bytes)).toBeLessThan(SESSION_MIB * MiB);
    const [shown] = (await p.api('GET', '/v1/nodes')).body.items;
    expect(shown.budget).toMatchObject({ memory_bytes: (2 * SESSION_MIB + 100) * MiB, free_sessions: 0 });
    expect(shown.budget.free_memory_bytes).toBeLessThan(SESSION_MIB * MiB);
  });

  it('keeps a session no node can take waiting, with its place in a queue fair across tenants', async () => {
    // one tenant's burst, then another tenant's single session
    for (const name of ['b1', 'b2', 'b3']) queued[name] = await create(burst);
    queued['x1'] = await create(solo);
    const x1 = await status(queued['x1']!);
    expect(x1).toMatchObject({ status: 'creating', runtime_node: null, error: null, error_code: null, placement: { state: 'waiting_for_capacity', position: 2 } });
    expect(Date.parse(x1.placement.gives_up_at) - Date.parse(x1.placement.waiting_since)).toBe(PLACEMENT_TIMEOUT * 1000);
    expect((await status(queued['b1']!)).placement.position).toBe(1);
    expect((await status(queued['b3']!)).placement.position).toBe(4);
    const posted = await p.api('POST', `/v1/sessions/${queued['b3']}/executions`, { code: 'print(1)' }, burst);
    expect(posted.body.status).toBe('pending');
    queuedExecution = posted.body.id;
  });

  it('places waiting sessions in fair order as capacity frees: the other tenant goes before the burst', async () => {
    await p.api('DELETE', `/v1/sessions/${held[0]}`);
    const t0 = Date.now();
    await p.until('b1 placed', async () => (await status(queued['b1']!)).status === 'running');
    const placedAfterMs = Date.now() - t0;
    await p.api('DELETE', `/v1/sessions/${held[1]}`);
    await p.until('x1 placed', async () => (await status(queued['x1']!)).status === 'running');
    expect((await status(queued['b2']!)).placement).toMatchObject({ state: 'waiting_for_capacity', position: 1 });
    expect((await status(queued['b3']!)).status).toBe('creating');
    console.log(`saturation: a waiting session was placed ${placedAfterMs} ms after capacity freed`);
  });

  it('refuses a new session at the door (503, Retry-After) once the queue cannot move in time, and stores nothing', async () => {
    const since = Date.parse((await status(queued['b2']!)).placement.waiting_since);
    // the head of the queue has waited half the timeout: a newcomer would not be placed in time
    await new Promise((r) => setTimeout(r, Math.max(0, since + (PLACEMENT_TIMEOUT / 2) * 1000 + 300 - Date.now())));
    const [before] = await p.query('SELECT COUNT(*) AS n FROM sessions');
    const answeredMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = Date.now();
      const r = await p.api('POST', '/v1/sessions', { template_id: 'python-basic' }, solo);
      answeredMs.push(Date.now() - t0);
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('capacity_exhausted');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(PLACEMENT_TIMEOUT);
    }
    const [after] = await p.query('SELECT COUNT(*) AS n FROM sessions');
    expect(Number(after.n)).toBe(Number(before.n));
    answeredMs.sort((a, b) => a - b);
    console.log(`saturation: a saturated fleet answered 20 new sessions with 503 in ${answeredMs[10]} ms (median), ${answeredMs[19]} ms (max)`);
  });

  it('fails a session not placed within the timeout (no_capacity) with its pending executions, and ?wait returns then', async () => {
    const r = await p.api('POST', `/v1/sessions/${queued['b2']}/executions?wait=true`, { code: 'print(1)' }, burst);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'failed', reason: 'no_capacity' });
    expect(await status(queued['b2']!)).toMatchObject({ status: 'failed', error_code: 'no_capacity', placement: null, runtime_node: null });
    await p.until('b3 failed', async () => (await status(queued['b3']!)).status === 'failed');
    expect((await p.api('GET', `/v1/executions/${queuedExecution}`)).body).toMatchObject({ status: 'failed', reason: 'no_capacity' });
  });
});
