import { TestPlatform } from '@sandbox/testing';

/** Runtime agents as processes: several per platform, stopped gently and brutally, restarted. */
describe('runtime agents', () => {
  describe('two agents sharing the work', () => {
    let p: TestPlatform;

    beforeAll(async () => {
      p = await TestPlatform.start('e2e-two', { agents: 2, warmPool: 'python-basic=2' });
    });

    afterAll(async () => {
      await p?.stop();
    });

    it('binds every session to exactly one node, with exactly one container (I1)', async () => {
      const created = await Promise.all(Array.from({ length: 8 }, () => p.api('POST', '/v1/sessions', { template_id: 'python-basic' })));
      // executions posted while the sessions may still be unplaced race the placement jobs
      const results = await Promise.all(created.map((c, i) => p.execute(c.body.id, { code: `print(${i})` })));
      results.forEach((e, i) => expect(e).toMatchObject({ status: 'completed', stdout: `${i}\n` }));
      const rows = await p.query('SELECT id, runtime_node, container_id FROM sessions WHERE id IN (?)', [created.map((c) => c.body.id)]);
      for (const row of rows) {
        expect(p.nodeIds).toContain(row.runtime_node);
        expect(results.find((e) => e.session_id === row.id).runtime_node).toBe(row.runtime_node);
        // the container a session runs in is labelled with its node and named after it
        expect(p.containers(`sandbox.node=${row.runtime_node}`)).toContain(row.container_id);
      }
      expect(new Set(rows.map((r) => r.container_id)).size).toBe(8);
    });

    it('routes an execution to the node holding its session, whichever agent took the job', async () => {
      const s = await p.session();
      for (let i = 0; i < 6; i++) {
        const e = await p.execute(s.id, { code: 'import socket\nprint(open("/etc/hostname").read().strip() != "")' });
        expect(e.runtime_node).toBe(s.runtime_node);
      }
    });
  });

  describe('shutdown and restart of an agent', () => {
    let p: TestPlatform;

    beforeAll(async () => {
      p = await TestPlatform.start('e2e-life', { warmPool: 'python-basic=2', agentEnv: { DRAIN_TIMEOUT_MS: '20000' } });
    });

    afterAll(async () => {
      await p?.stop();
    });

    it('drains on SIGTERM: the running execution finishes, the pool goes, then the agent exits', async () => {
      const node = p.nodeIds[0]!;
      const s = await p.session();
      const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time\ntime.sleep(1.5)\nprint("finished")' });
      await p.until('running', async () => (await p.api('GET', `/v1/executions/${posted.body.id}`)).body.status === 'running');
      // Nest re-raises the signal once its shutdown hooks are done: SIGTERM, not the harness' SIGKILL
      expect(await p.stopAgent(node, 'SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
      const e = (await p.api('GET', `/v1/executions/${posted.body.id}`)).body;
      expect(e).toMatchObject({ status: 'completed', stdout: 'finished\n' });
      const [row] = await p.query('SELECT status FROM runtime_nodes WHERE id = ?', [node]);
      expect(row.status).toBe('offline');
      // the session's container stays for the next start to re-attach; the warm pool is gone
      expect(p.containers(`sandbox.node=${node}`)).toEqual([s.container_id]);
    });

    it('re-attaches the sessions it holds after a restart, workspace intact, and removes stray containers', async () => {
      const node = p.startAgent();
      await p.until('agent online', async () => (await p.query("SELECT id FROM runtime_nodes WHERE id = ? AND status = 'online'", [node])).length === 1);
      const s = await p.session();
      await p.execute(s.id, { code: 'open("state.txt", "w").write("before the crash")' });
      await p.until('pool full', async () => p.containers(`sandbox.node=${node}`).length === 3);
      expect(await p.stopAgent(node, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      const strays = p.containers(`sandbox.node=${node}`).filter((id) => id !== s.container_id);
      expect(strays).toHaveLength(2);
      p.startAgent(node);
      const e = await p.execute(s.id, { code: 'print(open("state.txt").read())' });
      expect(e).toMatchObject({ status: 'completed', stdout: 'before the crash\n', runtime_node: node });
      expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id).toBe(s.container_id);
      const now = p.containers(`sandbox.node=${node}`);
      for (const id of strays) expect(now).not.toContain(id);
    });
  });

  describe('containers of an agent that never comes back', () => {
    let p: TestPlatform;

    beforeAll(async () => {
      p = await TestPlatform.start('e2e-orphan', { warmPool: 'python-basic=1', agentEnv: { SANDBOX_ORPHAN_AFTER_SECONDS: '5' } });
    });

    afterAll(async () => {
      await p?.stop();
    });

    it('keeps an idle session while its agent lives, and removes every container within the bound once it is gone', async () => {
      const node = p.nodeIds[0]!;
      const s = await p.session();
      await p.execute(s.id, { code: 'open("state.txt", "w").write("kept")' });
      // the fault that must last: the session idle for twice the bound, only the agent's pings reach it
      await new Promise((r) => setTimeout(r, 10_000));
      expect(await p.execute(s.id, { code: 'print(open("state.txt").read())' })).toMatchObject({ status: 'completed', stdout: 'kept\n' });
      expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id).toBe(s.container_id);
      await p.until('pool full', async () => p.containers(`sandbox.node=${node}`).length === 2);
      expect(await p.stopAgent(node, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      // no agent of this node is left to sweep them: the containers end themselves
      await p.until('every container of the gone agent removed', async () => p.containers(`sandbox.node=${node}`).length === 0);
    });
  });
});
