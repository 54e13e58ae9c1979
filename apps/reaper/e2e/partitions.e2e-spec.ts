import { PacketDrop, PrivateServices, RunWatcher, TestPlatform } from '@sandbox/testing';

/**
 * Partitions and hung dependencies (DESIGN.md I4; docs/architecture.md, fencing): packets dropped, not
 * refused, and servers paused with SIGSTOP, so every call hangs instead of failing. Each case proves
 * from the kernel's cgroups (RunWatcher), not from the platform's records, that no two attempts of one
 * execution ran user code at the same time, and that every accepted execution ended exactly once.
 */
const STALE = 3;
const agentEnv = { HEARTBEAT_INTERVAL_MS: '500', STALE_AFTER_SECONDS: String(STALE), FENCE_MARGIN_MS: '1000', ORPHAN_SWEEP_INTERVAL_MS: '1000', DB_QUERY_TIMEOUT_MS: '2000' };
const reaperEnv = { STALE_AFTER_SECONDS: String(STALE), REAPER_INTERVAL_MS: '500', MAX_RETRIES: '2', DB_QUERY_TIMEOUT_MS: '2000' };
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed'];
/** Prints a line every 100 ms for `seconds`, then `done`: busy the whole time, so the watcher sees it. */
const ticking = (seconds: number) => `import time\nend = time.time() + ${seconds}\nwhile time.time() < end:\n    time.sleep(0.1)\nprint("done")`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('partitions and hung dependencies', () => {
  let services: PrivateServices;
  let p: TestPlatform;
  let watcher: RunWatcher | null = null;
  let cut: PacketDrop | null = null;
  /** Concurrent double runs seen across the suite (reported, and must stay 0). */
  let doubleRuns = 0;

  beforeAll(async () => {
    services = await PrivateServices.start('partitions');
  });

  afterEach(async () => {
    cut?.heal();
    cut = null;
    watcher?.stop();
    watcher = null;
    services.redis.resume();
    services.mariadb.resume();
    await p?.stop();
  });

  afterAll(async () => {
    console.log(`partitions: concurrent double runs seen across the suite: ${doubleRuns}`);
    await services?.stop();
  });

  const platform = async (label: string, agents = 2) => {
    p = await TestPlatform.start(label, { services, agents, warmPool: 'python-basic=1', agentEnv, controlPlaneEnv: { STALE_AFTER_SECONDS: String(STALE) } });
    p.startReaper(reaperEnv);
    // every sandbox container of this platform, old and new, listed once a second
    let known: string[] = [];
    const refresh = () => (known = [...new Set([...known, ...p.nodeIds.flatMap((n) => p.containers(`sandbox.node=${n}`))])]);
    refresh();
    const lister = setInterval(refresh, 1000);
    const w = new RunWatcher(() => known, 50);
    const stop = w.stop.bind(w);
    w.stop = () => {
      clearInterval(lister);
      stop();
    };
    watcher = w;
    return p;
  };
  const post = async (sessionId: string, code: string) => {
    const r = await p.api('POST', `/v1/sessions/${sessionId}/executions`, { code, timeout: 60 });
    if (r.status !== 202) throw new Error(`not accepted: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  };
  const get = async (id: string) => (await p.api('GET', `/v1/executions/${id}`)).body;
  const running = (id: string) => p.until(`${id} running`, async () => (await get(id)).status === 'running' && get(id));
  const session = async (id: string) => (await p.api('GET', `/v1/sessions/${id}`)).body;
  /** Every execution terminal, each with exactly one final outcome in its attempt history. */
  const settled = async (ids: string[], ms = 90_000) => {
    const all = await Promise.all(ids.map((id) => p.until(`${id} terminal`, async () => TERMINAL.includes((await get(id)).status) && get(id), ms)));
    for (const e of all) {
      expect(e.attempts.filter((a: { outcome: string }) => a.outcome !== 'agent_lost')).toEqual([expect.objectContaining({ attempt: e.attempt, outcome: e.status })]);
    }
    return all;
  };
  /** No two of these containers ran user code at once; counted for the closing figures. */
  const neverTogether = (containers: string[]) => {
    const seen = watcher!.concurrent(containers);
    doubleRuns += seen;
    expect(seen).toBe(0);
  };

  it('agent↔MariaDB packets dropped: the agent freezes its run before the retry starts elsewhere; healed, it fences itself', async () => {
    await platform('pt-db-drop');
    const s = await p.session();
    const id = await post(s.id, ticking(8));
    const victim = (await running(id)).runtime_node as string;
    const before = (await session(s.id)).container_id as string;
    await p.until('the run seen by the watcher', async () => watcher!.ran(before));
    const cutAt = Date.now();
    cut = PacketDrop.cut(p.agents.get(victim)!.pid!, services.mariadb.port);
    const [e] = await settled([id]);
    const after = (await session(s.id)).container_id as string;
    expect(e).toMatchObject({ status: 'completed', stdout: 'done\n', retry_count: 1 });
    expect(e.runtime_node).not.toBe(victim);
    expect(after).not.toBe(before);
    neverTogether([before, after]);
    const keptRunning = watcher!.lastRunning(before)! - cutAt;
    console.log(`partitions: an agent cut off from MariaDB ran user code for ${keptRunning} ms after the cut (STALE ${STALE} s, margin 1 s)`);
    expect(keptRunning).toBeLessThan(STALE * 1000);
    cut.heal();
    cut = null;
    // back in touch, it finds itself declared lost: the frozen container goes without ever running again
    await p.until('the cut-off node back online', async () => (await p.api('GET', `/v1/nodes/${victim}`)).body.status === 'online');
    await p.until('its frozen container removed', async () => !p.containers(`sandbox.node=${victim}`).includes(before));
    neverTogether([before, after]);
    expect(await get(id)).toEqual(e);
    expect(await p.execute(s.id, { code: 'print("still serving")' })).toMatchObject({ status: 'completed', stdout: 'still serving\n' });
  });

  it('agent hung (SIGSTOP) past the threshold: its run stops at its lease on its own; the retry runs alone', async () => {
    await platform('pt-agent-hung');
    const s = await p.session();
    const id = await post(s.id, ticking(8));
    const victim = (await running(id)).runtime_node as string;
    const before = (await session(s.id)).container_id as string;
    await p.until('the run seen by the watcher', async () => watcher!.ran(before));
    const stoppedAt = Date.now();
    // the agent cannot act at all: only the executor's lease stops the run
    p.agents.get(victim)!.kill('SIGSTOP');
    const [e] = await settled([id]);
    const after = (await session(s.id)).container_id as string;
    expect(e).toMatchObject({ status: 'completed', stdout: 'done\n', retry_count: 1 });
    expect(after).not.toBe(before);
    neverTogether([before, after]);
    console.log(`partitions: a hung agent's run went on for ${watcher!.lastRunning(before)! - stoppedAt} ms after the agent stopped (STALE ${STALE} s, margin 1 s)`);
    p.agents.get(victim)!.kill('SIGCONT');
    await p.until('the woken node back online', async () => (await p.api('GET', `/v1/nodes/${victim}`)).body.status === 'online');
    await p.until('its stopped container removed', async () => !p.containers(`sandbox.node=${victim}`).includes(before));
    neverTogether([before, after]);
    expect(await get(id)).toEqual(e);
  });

  it('agent↔Redis packets dropped: runs finish and are recorded once; waiting work runs after the heal', async () => {
    await platform('pt-redis-drop', 1);
    const s = await p.session();
    const node = p.nodeIds[0]!;
    const first = await post(s.id, ticking(3));
    const container = (await session(s.id)).container_id as string;
    await running(first);
    cut = PacketDrop.cut(p.agents.get(node)!.pid!, services.redis.port);
    // the control plane still reaches Redis: this one is accepted, its doorbell waits in the queue
    const second = await post(s.id, 'print("second")');
    const [e1] = await settled([first]);
    expect(e1).toMatchObject({ status: 'completed', stdout: 'done\n', retry_count: 0 });
    await sleep(1000);
    cut.heal();
    cut = null;
    const [e2] = await settled([second]);
    expect(e2).toMatchObject({ status: 'completed', stdout: 'second\n', retry_count: 0 });
    neverTogether([container]);
  });

  it('MariaDB hung (SIGSTOP) past the threshold: runs are frozen, not re-run, and finish when it is back', async () => {
    await platform('pt-db-hung');
    const sessions = await Promise.all([0, 1].map(() => p.session()));
    const ids = await Promise.all(sessions.map((s) => post(s.id, ticking(4))));
    await Promise.all(ids.map(running));
    const containers = async () => Promise.all(sessions.map(async (s) => (await session(s.id)).container_id as string));
    const before = await containers();
    services.mariadb.pause();
    await sleep((STALE + 3) * 1000);
    services.mariadb.resume();
    const done = await settled(ids);
    // the trade-off (docs/architecture.md): a database outage freezes the runs; nobody re-runs them
    expect(done.map((e) => [e.status, e.stdout, e.retry_count])).toEqual(ids.map(() => ['completed', 'done\n', 0]));
    // each session kept its container: nothing ran anywhere else
    expect(await containers()).toEqual(before);
  });

  it('Redis hung (SIGSTOP): running work is recorded once, waiting work runs after it is back', async () => {
    await platform('pt-redis-hung', 1);
    const s = await p.session();
    const first = await post(s.id, ticking(2));
    const second = await post(s.id, 'print("second")');
    await running(first);
    services.redis.pause();
    await sleep((STALE + 1) * 1000);
    services.redis.resume();
    const done = await settled([first, second]);
    expect(done.map((e) => [e.status, e.retry_count])).toEqual([
      ['completed', 0],
      ['completed', 0],
    ]);
    neverTogether([(await session(s.id)).container_id]);
  });

  it('agent restarted while a run goes on in its live container: the leftover run is stopped, the retry completes (not sandbox_lost)', async () => {
    await platform('pt-restart', 1);
    const node = p.nodeIds[0]!;
    const s = await p.session();
    const id = await post(s.id, ticking(6));
    await running(id);
    await p.stopAgent(node, 'SIGKILL');
    p.startAgent(node);
    const [e] = await settled([id]);
    expect(e).toMatchObject({ status: 'completed', stdout: 'done\n', retry_count: 1, runtime_node: node });
    expect(e.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['agent_lost', 'completed']);
  });
});
