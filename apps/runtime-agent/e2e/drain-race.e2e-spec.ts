import { TestPlatform } from '@sandbox/testing';

/**
 * An operator's drain racing the doorbells of the sessions it moves away: while the draining node
 * unbinds its sessions, executions keep arriving on its own queue. None may bind a session back to
 * the node that is about to exit; every execution runs once, on the node that holds its session.
 */
describe('drain racing doorbells', () => {
  let p: TestPlatform;

  afterEach(async () => {
    await p?.stop();
  });

  it('leaves every moved session on another node while its executions keep arriving', async () => {
    p = await TestPlatform.start('drain-race', { agents: 1, warmPool: 'python-basic=4', agentEnv: { AGENT_CAPACITY: '4' } });
    const drained = p.nodeIds[0]!;
    const sessions = await Promise.all([0, 1, 2, 3].map(() => p.session()));
    const other = p.startAgent();
    await p.until('the second node online', async () => (await p.api('GET', `/v1/nodes/${other}`)).body.status === 'online');
    const exited = new Promise((resolve) => p.agents.get(drained)!.once('exit', (code) => resolve(code)));
    const ids: string[] = [];
    let posting = true;
    const poster = (async () => {
      for (let i = 0; posting; i++) {
        const s = sessions[i % sessions.length]!;
        const r = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: `print(${i})` });
        expect(r.status).toBe(202);
        ids.push(r.body.id);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    expect((await p.api('POST', `/v1/nodes/${drained}/drain`)).body.status).toBe('draining');
    expect(await exited).toBe(0);
    posting = false;
    await poster;
    // the moment the drained node exits, none of its sessions is bound to it
    for (const s of sessions) expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.runtime_node).not.toBe(drained);
    const done = await Promise.all(
      ids.map((id) => p.until(`${id} terminal`, async () => {
        const e = (await p.api('GET', `/v1/executions/${id}`)).body;
        return e.status !== 'pending' && e.status !== 'running' && e;
      }, 60_000)),
    );
    expect(done.filter((e) => e.status !== 'completed' || e.retry_count !== 0)).toEqual([]);
    expect(ids.length).toBeGreaterThan(8);
  });
});
