import { execFileSync } from 'node:child_process';
import { listAll } from '@sandbox/storage';
import { PrivateServices, TestPlatform } from '@sandbox/testing';

/**
 * Faults injected into real processes on loopback (DESIGN.md I3, I4, I6; reliability.md §4). The
 * suite runs its own Redis, MariaDB and S3 server, so killing them disturbs nothing else. Every case
 * asserts: no execution lost (all terminal), none recorded twice (one final outcome in its attempt
 * history), retry_count as expected, and the platform serving again afterwards.
 */
const STALE = 3;
const agentEnv = { HEARTBEAT_INTERVAL_MS: '500', STALE_AFTER_SECONDS: String(STALE), FENCE_MARGIN_MS: '1000', ORPHAN_SWEEP_INTERVAL_MS: '1000', DRAIN_TIMEOUT_MS: '15000' };
const reaperEnv = { STALE_AFTER_SECONDS: String(STALE), REAPER_INTERVAL_MS: '500', MAX_RETRIES: '2' };
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed'];

describe('fault injection', () => {
  let services: PrivateServices;
  let p: TestPlatform;

  beforeAll(async () => {
    services = await PrivateServices.start('faults');
  });

  afterEach(async () => {
    services.redis.resume();
    services.mariadb.resume();
    await p?.stop();
  });

  afterAll(async () => {
    await services?.stop();
  });

  const platform = async (label: string, extra: { agents?: number; warmPool?: string; agentEnv?: Record<string, string>; reaper?: Record<string, string> | false } = {}) => {
    p = await TestPlatform.start(label, {
      services,
      agents: extra.agents ?? 1,
      warmPool: extra.warmPool ?? 'python-basic=1',
      agentEnv: { ...agentEnv, ...extra.agentEnv },
      controlPlaneEnv: { STALE_AFTER_SECONDS: String(STALE) },
    });
    if (extra.reaper !== false) p.startReaper({ ...reaperEnv, ...extra.reaper });
    return p;
  };
  const post = async (sessionId: string, code: string, extra: Record<string, unknown> = {}) => {
    const r = await p.api('POST', `/v1/sessions/${sessionId}/executions`, { code, ...extra });
    if (r.status !== 202) throw new Error(`not accepted: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  };
  const get = async (id: string) => (await p.api('GET', `/v1/executions/${id}`)).body;
  const running = (id: string) => p.until(`${id} running`, async () => (await get(id)).status === 'running' && get(id));
  /** Every execution terminal, each with one final outcome; returns them. */
  const settled = async (ids: string[], ms = 90_000) => {
    const all = await Promise.all(ids.map((id) => p.until(`${id} terminal`, async () => TERMINAL.includes((await get(id)).status) && get(id), ms)));
    for (const e of all) {
      const finals = e.attempts.filter((a: { outcome: string }) => a.outcome !== 'agent_lost');
      if (e.status !== 'crashed') expect(finals).toEqual([expect.objectContaining({ attempt: e.attempt, outcome: e.status })]);
      expect(e.retry_count).toBe(e.attempts.filter((a: { outcome: string }) => a.outcome === 'agent_lost').length - (e.status === 'crashed' ? 1 : 0));
    }
    return all;
  };
  const serving = async () => {
    const s = await p.session();
    expect(await p.execute(s.id, { code: 'print("still serving")' })).toMatchObject({ status: 'completed', stdout: 'still serving\n' });
  };
  const otherNode = (node: string) => p.nodeIds.find((n) => n !== node && p.agents.has(n))!;

  it('1. kill -9 of an agent mid-execution: retried on the other agent with the workspace, recorded once, even with two reapers', async () => {
    await platform('f-kill', { agents: 2 });
    p.startReaper(reaperEnv);
    const s = await p.session();
    await p.execute(s.id, { code: 'open("state.txt", "w").write("written before the crash")' });
    const id = await post(s.id, 'import time\ntime.sleep(3)\nprint(open("state.txt").read())');
    const victim = (await running(id)).runtime_node;
    await p.stopAgent(victim, 'SIGKILL');
    const [e] = await settled([id]);
    const survivor = otherNode(victim);
    expect(e).toMatchObject({ status: 'completed', stdout: 'written before the crash\n', retry_count: 1, attempt: 2, runtime_node: survivor });
    expect(e.attempts.map((a: { attempt: number; node: string; outcome: string }) => [a.attempt, a.node, a.outcome])).toEqual([
      [1, victim, 'agent_lost'],
      [2, survivor, 'completed'],
    ]);
    const nodes = (await p.api('GET', '/v1/nodes')).body.items;
    expect(nodes.find((n: { id: string }) => n.id === victim)).toMatchObject({ status: 'offline', stale: true, sessions: 0 });
    expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.runtime_node).toBe(survivor);
    await serving();
  });

  it('2. kill -STOP past the threshold, then -CONT: the woken agent is fenced out and lets go of the session', async () => {
    await platform('f-stop', { agents: 2 });
    const s = await p.session();
    const id = await post(s.id, 'import time\ntime.sleep(2)\nprint("done")');
    const paused = (await running(id)).runtime_node;
    const oldContainer = (await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id;
    p.agents.get(paused)!.kill('SIGSTOP');
    const [e] = await settled([id]);
    expect(e).toMatchObject({ status: 'completed', stdout: 'done\n', retry_count: 1, runtime_node: otherNode(paused) });
    p.agents.get(paused)!.kill('SIGCONT');
    // it finds itself declared lost, fences itself and comes back online; its container for the session goes
    await p.until('the woken node back online', async () => {
      const n = (await p.api('GET', `/v1/nodes/${paused}`)).body;
      return n.status === 'online' && !n.stale;
    });
    await p.until('its old container removed', async () => !p.containers(`sandbox.node=${paused}`).includes(oldContainer));
    expect(await get(id)).toEqual(e);
    await serving();
  });

  it('3. Redis killed and restarted (AOF) with executions queued and running: all complete', async () => {
    await platform('f-redis', { agentEnv: { AGENT_CAPACITY: '1' } });
    const sessions = await Promise.all([0, 1, 2].map(() => p.session()));
    const ids: string[] = [];
    for (const s of sessions) for (let i = 0; i < 2; i++) ids.push(await post(s.id, `import time\ntime.sleep(0.5)\nprint(${i})`));
    // started (a poll may only see it done: it runs half a second), the others queued behind it
    await p.until(`${ids[0]} started`, async () => (await get(ids[0]!)).status !== 'pending');
    await services.redis.restart();
    const done = await settled(ids);
    expect(done.map((e) => [e.status, e.retry_count])).toEqual(ids.map(() => ['completed', 0]));
    await serving();
  });

  it('4. MariaDB restarted while executions run: agents retry their writes, nothing stranded, no false retry', async () => {
    await platform('f-db');
    const sessions = await Promise.all([0, 1].map(() => p.session()));
    const ids = await Promise.all(sessions.map((s) => post(s.id, 'import time\ntime.sleep(2)\nprint("ok")')));
    await Promise.all(ids.map(running));
    await services.mariadb.restart();
    const done = await settled(ids);
    expect(done.map((e) => [e.status, e.stdout, e.retry_count])).toEqual(ids.map(() => ['completed', 'ok\n', 0]));
    await serving();
  });

  it('4b. MariaDB down longer than the threshold: runs are frozen, not re-run; no retry storm, no crash', async () => {
    await platform('f-db-long', { agents: 2 });
    const sessions = await Promise.all([0, 1, 2].map(() => p.session()));
    const ids = await Promise.all(sessions.map((s) => post(s.id, 'import time\ntime.sleep(4)\nprint("ok")')));
    await Promise.all(ids.map(running));
    await services.mariadb.kill();
    await new Promise((r) => setTimeout(r, (STALE + 2) * 1000));
    await services.mariadb.start();
    const done = await settled(ids);
    // the agents froze their runs when they lost the database and thawed them when it came back; the
    // reaper, which lost it too, declared nobody lost (docs/architecture.md, fencing)
    expect(done.map((e) => [e.status, e.retry_count])).toEqual(ids.map(() => ['completed', 0]));
    await serving();
  });

  it('5. control plane restarted during ?wait=true: SIGTERM answers the waits, kill -9 breaks them cleanly, executions complete', async () => {
    await platform('f-cp', { agentEnv: { AGENT_CAPACITY: '4' } });
    const sessions = await Promise.all([0, 1, 2].map(() => p.session()));
    const waits = sessions.map((s) => p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, { code: 'import time\ntime.sleep(3)\nprint("waited")' }));
    await p.until('all running', async () => (await p.query("SELECT COUNT(*) AS n FROM executions WHERE status = 'running'"))[0].n === 3);
    await p.stopControlPlane('SIGTERM');
    const answers = await Promise.all(waits);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    p.startControlPlane();
    await p.ready();
    const done = await settled(answers.map((a) => a.body.id));
    expect(done.map((e) => e.stdout)).toEqual(['waited\n', 'waited\n', 'waited\n']);
    const s = sessions[0]!;
    const hard = p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, { code: 'import time\ntime.sleep(2)' });
    await p.until('running', async () => (await p.query("SELECT COUNT(*) AS n FROM executions WHERE status = 'running'"))[0].n === 1);
    await p.stopControlPlane('SIGKILL');
    await expect(hard).rejects.toThrow(/fetch failed|socket|ECONNRESET/);
    p.startControlPlane();
    await p.ready();
    const [lastId] = (await p.query("SELECT id FROM executions WHERE session_id = ? ORDER BY id DESC LIMIT 1", [s.id])).map((r) => r.id);
    expect((await settled([lastId]))[0].status).toBe('completed');
    await serving();
  });

  it('6. reaper stopped for a while, then started: no false loss, nothing crashed', async () => {
    await platform('f-reaper', { agents: 2 });
    await p.stopReapers();
    const sessions = await Promise.all([0, 1, 2, 3].map(() => p.session()));
    const ids = await Promise.all(sessions.map((s) => post(s.id, 'import time\ntime.sleep(1)\nprint("fine")')));
    await new Promise((r) => setTimeout(r, 2 * STALE * 1000 + 1000));
    p.startReaper(reaperEnv);
    const done = await settled(ids);
    expect(done.map((e) => [e.status, e.retry_count])).toEqual(ids.map(() => ['completed', 0]));
    await new Promise((r) => setTimeout(r, 2 * STALE * 1000));
    const nodes = (await p.api('GET', '/v1/nodes')).body.items;
    expect(nodes.map((n: { status: string }) => n.status)).toEqual(['online', 'online']);
    await serving();
  });

  it('7. a node lost with queued work and bound sessions: the work moves, the sessions migrate with their workspace, in order', async () => {
    await platform('f-node', { agentEnv: { AGENT_CAPACITY: '2' } });
    const [lost] = p.nodeIds;
    const sessions = await Promise.all([0, 1].map(() => p.session()));
    for (const [i, s] of sessions.entries()) await p.execute(s.id, { code: `open("mine.txt", "w").write("session ${i}")` });
    const survivor = p.startAgent();
    await p.until('second agent online', async () => (await p.api('GET', `/v1/nodes/${survivor}`)).status === 200);
    const ids = sessions.map((s) => [
      () => post(s.id, 'import time\ntime.sleep(3)\nopen("order.txt", "a").write("1")'),
      () => post(s.id, 'open("order.txt", "a").write("2")'),
      () => post(s.id, 'print(open("mine.txt").read(), open("order.txt").read())'),
    ]);
    const posted: string[][] = [];
    for (const queue of ids) posted.push([await queue[0]!(), await queue[1]!(), await queue[2]!()]);
    await Promise.all(posted.map((q) => running(q[0]!)));
    await p.stopAgent(lost!, 'SIGKILL');
    for (const [i, q] of posted.entries()) {
      const [first, second, third] = await settled(q);
      expect(first).toMatchObject({ status: 'completed', retry_count: 1, runtime_node: survivor });
      expect([second.retry_count, third.retry_count]).toEqual([0, 0]);
      expect(third).toMatchObject({ status: 'completed', stdout: `session ${i} 12\n`, runtime_node: survivor });
    }
    await serving();
  });

  it('8. idle expiry and the maximum lifetime end sessions on time; a long execution keeps its session alive', async () => {
    await platform('f-expiry', { warmPool: 'python-basic=2', reaper: { SESSION_MAX_LIFETIME_SECONDS: '16' } });
    const idle = await p.session('python-basic', { timeout: 10 });
    await p.execute(idle.id, { code: 'open("kept.txt", "w").write("kept")' });
    const busy = await p.session('python-basic', { timeout: 10 });
    const long = await post(busy.id, 'import time\ntime.sleep(12)\nprint("long")');
    const ended = await p.until('idle session timed out', async () => {
      const s = (await p.api('GET', `/v1/sessions/${idle.id}`)).body;
      return s.status === 'timeout' && s;
    }, 30_000);
    expect(ended.error).toBe('idle for more than its timeout of 10s');
    await p.until('its container removed', async () => !p.containers(`sandbox.node=${p.nodeIds[0]}`).includes(idle.container_id));
    expect(await p.workspaceFiles(idle.id)).toEqual(['kept.txt']);
    expect(await listAll(p.storage.store, `sessions/${idle.id}/`)).toHaveLength(1);
    // the busy one outlived its idle timeout while its execution ran
    expect((await p.api('GET', `/v1/sessions/${busy.id}`)).body.status).toBe('running');
    expect((await settled([long]))[0]).toMatchObject({ status: 'completed', stdout: 'long\n' });
    const capped = await p.until('lifetime reached', async () => {
      const s = (await p.api('GET', `/v1/sessions/${busy.id}`)).body;
      return s.status === 'timeout' && s;
    }, 30_000);
    expect(capped.error).toBe('reached the maximum session lifetime of 16s');
    expect((await p.api('POST', `/v1/sessions/${busy.id}/executions`, { code: 'print(1)' })).status).toBe(409);
  });

  it('9. agent restarted with live containers: reconciled, no orphans, warm pool refilled', async () => {
    await platform('f-restart', { warmPool: 'python-basic=2' });
    const node = p.nodeIds[0]!;
    const live = await p.session();
    await p.execute(live.id, { code: 'open("f.txt", "w").write("still here")' });
    const doomed = await p.session();
    await p.until('pool full', async () => p.containers(`sandbox.node=${node}`).length === 4);
    await p.stopAgent(node, 'SIGKILL');
    // ended while its agent was down: its container outlives it until the agent is back
    expect((await p.api('DELETE', `/v1/sessions/${doomed.id}`)).body.status).toBe('terminated');
    const before = p.containers(`sandbox.node=${node}`);
    p.startAgent(node);
    const e = await p.execute(live.id, { code: 'print(open("f.txt").read())' });
    expect(e).toMatchObject({ status: 'completed', stdout: 'still here\n', runtime_node: node });
    await p.until('reconciled and refilled', async () => {
      const now = p.containers(`sandbox.node=${node}`);
      return now.length === 3 && now.includes(live.container_id) && !now.includes(doomed.container_id) && now.filter((c) => before.includes(c)).length === 1;
    });
    await serving();
  });

  it('10. Redis lost its data with work waiting: the lost doorbell is rung again and the execution completes', async () => {
    await platform('f-flush');
    const node = p.nodeIds[0]!;
    const s = await p.session();
    p.agents.get(node)!.kill('SIGSTOP');
    const id = await post(s.id, 'print("after the flush")');
    execFileSync('redis-cli', ['-p', String(services.redis.port), 'FLUSHALL']);
    p.agents.get(node)!.kill('SIGCONT');
    const [e] = await settled([id]);
    expect(e).toMatchObject({ status: 'completed', stdout: 'after the flush\n', retry_count: 0 });
    await serving();
  });

  it('11. Redis hung (paused): the API answers 503 with Retry-After and leaves no row; work resumes when it is back', async () => {
    await platform('f-hang');
    const s = await p.session();
    const before = (await p.query('SELECT COUNT(*) AS n FROM executions'))[0].n;
    services.redis.pause();
    const refused = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)' });
    services.redis.resume();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await p.query('SELECT COUNT(*) AS n FROM executions'))[0].n).toBe(before);
    expect(await p.execute(s.id, { code: 'print("resumed")' })).toMatchObject({ status: 'completed', stdout: 'resumed\n' });
  });

  it('12. S3 down during a workspace sync: the result is recorded, the files are stored by a later sync', async () => {
    await platform('f-s3');
    const s = await p.session();
    const id = await post(s.id, 'import time\ntime.sleep(1.5)\nopen("late.txt", "w").write("x")\nprint("ran")');
    await running(id);
    await services.s3.kill();
    const [e] = await settled([id]);
    expect(e).toMatchObject({ status: 'completed', stdout: 'ran\n', artifacts: [] });
    expect(e.skipped_artifacts.items).toEqual([expect.objectContaining({ path: 'late.txt', reason: expect.stringMatching(/^not stored: /) })]);
    await services.s3.start();
    const next = await p.execute(s.id, { code: 'print("again")' });
    expect(next.artifacts.map((a: { path: string }) => a.path)).toEqual(['late.txt']);
  });

  it('13. an operator drains a node: running work finishes, sessions move with their workspace, the agent exits 0; undrain calls it off', async () => {
    await platform('f-drain', { agents: 2 });
    const s = await p.session();
    const drained = s.runtime_node;
    await p.execute(s.id, { code: 'open("w.txt", "w").write("moved along")' });
    const id = await post(s.id, 'import time\ntime.sleep(2)\nprint("finished here")');
    await running(id);
    const exited = new Promise((resolve) => p.agents.get(drained)!.once('exit', (code) => resolve(code)));
    expect((await p.api('POST', `/v1/nodes/${drained}/drain`)).body.status).toBe('draining');
    expect(await exited).toBe(0);
    expect((await settled([id]))[0]).toMatchObject({ status: 'completed', stdout: 'finished here\n', runtime_node: drained, retry_count: 0 });
    const moved = await p.execute(s.id, { code: 'print(open("w.txt").read())' });
    expect(moved).toMatchObject({ status: 'completed', stdout: 'moved along\n', runtime_node: otherNode(drained) });
    const other = otherNode(drained);
    const busy = await post(s.id, 'import time\ntime.sleep(2)');
    await running(busy);
    await p.api('POST', `/v1/nodes/${other}/drain`);
    expect((await p.api('POST', `/v1/nodes/${other}/undrain`)).body.status).toBe('online');
    await settled([busy]);
    expect(p.agents.get(other)!.exitCode).toBeNull();
    expect((await p.api('POST', `/v1/nodes/${drained}/undrain`)).status).toBe(409);
    await serving();
  });
});
