import { TestPlatform } from '@sandbox/testing';

/**
 * POST /v1/executions/:id/cancel with real agents and the real reaper: a running execution is stopped
 * and keeps what it did so far, a pending one never runs, an ended one stays as it ended, and one
 * whose agent is lost after the cancel is never retried.
 */
const STALE = '4';
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed'];
const LONG = 'import time\nprint("started", flush=True)\nopen("ran.txt", "a").write("run\\n")\nfor _ in range(600):\n    time.sleep(0.1)\nprint("never")';

describe('execution cancel', () => {
  let p: TestPlatform;
  const get = async (id: string) => (await p.api('GET', `/v1/executions/${id}`)).body;
  const post = async (sessionId: string, code: string) => (await p.api('POST', `/v1/sessions/${sessionId}/executions`, { code, timeout: 120 })).body.id as string;
  const status = (id: string, want: string) => p.until(`${id} ${want}`, async () => ((e) => e.status === want && e)(await get(id)));
  const ended = (id: string) => p.until(`${id} ended`, async () => ((e) => TERMINAL.includes(e.status) && e)(await get(id)), 90_000);

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-cancel', {
      warmPool: 'python-basic=2',
      agentEnv: { STALE_AFTER_SECONDS: STALE, FENCE_MARGIN_MS: '1000' },
    });
    p.startReaper({ STALE_AFTER_SECONDS: STALE, REAPER_INTERVAL_MS: '500' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('stops a running execution, which ends cancelled with its output and usage so far; again is the same answer', async () => {
    const s = await p.session();
    const id = await post(s.id, LONG);
    await status(id, 'running');
    // a moment for the program to print: what it wrote before the cancel is kept
    await new Promise((r) => setTimeout(r, 1500));
    const asked = await p.api('POST', `/v1/executions/${id}/cancel`);
    expect([200, 202]).toContain(asked.status);
    const e = await ended(id);
    expect(e).toMatchObject({ status: 'failed', reason: 'cancelled', error: 'cancelled by the client', stdout: 'started\n', attempt: 1, retry_count: 0 });
    expect(e.usage.wall_ms).toBeGreaterThan(0);
    expect(e.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed' })]);
    const again = await p.api('POST', `/v1/executions/${id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(await get(id));
    // nothing of it is left running, and the session goes on with what it wrote
    const next = await p.execute(s.id, { code: 'import os\nprint(len([x for x in os.listdir("/proc") if x.isdigit()]), open("ran.txt").read().count("run"))' });
    expect(next).toMatchObject({ status: 'completed', stdout: '3 1\n' });
  });

  it('ends a pending execution at once, and it never runs; an ended one stays as it ended', async () => {
    const s = await p.session();
    const first = await post(s.id, LONG);
    const queued = await post(s.id, 'open("queued.txt", "w").write("ran")');
    await status(first, 'running');
    const cancelled = await p.api('POST', `/v1/executions/${queued}/cancel`);
    expect(cancelled).toMatchObject({ status: 200, body: { id: queued, status: 'failed', reason: 'cancelled', error: 'cancelled by the client', started_at: null, attempts: [] } });
    await p.api('POST', `/v1/executions/${first}/cancel`);
    await ended(first);
    const done = await p.execute(s.id, { code: 'import os\nprint(os.path.exists("queued.txt"))' });
    expect(done).toMatchObject({ status: 'completed', stdout: 'False\n' });
    expect(await get(queued)).toMatchObject({ status: 'failed', reason: 'cancelled', started_at: null });
    const late = await p.api('POST', `/v1/executions/${done.id}/cancel`);
    expect(late).toMatchObject({ status: 200, body: { id: done.id, status: 'completed', reason: 'exited', stdout: 'False\n' } });
  });

  it("answers 404 for an unknown execution and for another tenant's", async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'print(1)' });
    const other = (await p.createKey('tenant', 'other')).secret;
    expect((await p.api('POST', `/v1/executions/${e.id}/cancel`, undefined, { authorization: `Bearer ${other}` })).status).toBe(404);
    expect((await p.api('POST', '/v1/executions/exec_missing/cancel')).body.error).toMatchObject({ code: 'not_found' });
  });

  it('a cancel its agent never acted on (paused, then killed): the reaper ends it cancelled and never retries it', async () => {
    const s = await p.session();
    const id = await post(s.id, LONG);
    const first = (await status(id, 'running')).runtime_node;
    const standby = p.startAgent();
    // paused: the cancel's doorbell waits in its queue, and the run goes on until its lease runs out
    p.agents.get(first)!.kill('SIGSTOP');
    expect((await p.api('POST', `/v1/executions/${id}/cancel`)).status).toBe(202);
    await p.stopAgent(first, 'SIGKILL');
    const e = await ended(id);
    expect(e).toMatchObject({ status: 'failed', reason: 'cancelled', attempt: 1, retry_count: 0 });
    expect(e.error).toBe(`cancelled by the client; its runtime agent (${first}) was lost before it stopped the run`);
    expect(e.attempts.map((a: { node: string; outcome: string }) => [a.node, a.outcome])).toEqual([[first, 'agent_lost']]);
    // the session goes on, on the standby, with the workspace as stored before the run: it ran once, never again
    const next = await p.execute(s.id, { code: 'import os\nprint(os.path.exists("ran.txt"))' });
    expect(next).toMatchObject({ status: 'completed', stdout: 'False\n', runtime_node: standby });
  });
});
