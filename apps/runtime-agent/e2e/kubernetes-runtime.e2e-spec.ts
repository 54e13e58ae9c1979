import { randomBytes } from 'node:crypto';
import { kubectl, kubernetesAgentEnv, TestPlatform } from '@sandbox/testing';

/**
 * The platform with RUNTIME_MODE=kubernetes: the agent process (outside the cluster, through the
 * admin kubeconfig) runs its sandboxes as pods on the node of tools/k8s-up.sh's cluster, in a namespace
 * of this suite, and the REST API does not tell the difference.
 */
const NAMESPACE = `agent-e2e-${randomBytes(3).toString('hex')}`;
type Pod = { metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string }; status: { phase: string } };
const pods = async (selector: string): Promise<Pod[]> => JSON.parse(await kubectl('get', 'pods', '-n', NAMESPACE, '-l', selector, '-o', 'json')).items;

describe('the kubernetes runtime under the platform', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-k8s', { warmPool: 'python-basic=1', agentEnv: await kubernetesAgentEnv(NAMESPACE) });
  }, 3_300_000);

  afterAll(async () => {
    await p?.stop();
    await kubectl('delete', 'namespace', NAMESPACE, '--wait=false').catch(() => undefined);
  });

  it('keeps a warm sandbox pod of its node, and runs executions in a session pod with its workspace kept between them', async () => {
    const node = p.nodeIds[0]!;
    await p.until('a warm pod', async () => (await pods(`sandbox.node=${node},sandbox.session=`)).some((x) => x.status.phase === 'Running'));
    const s = await p.session();
    expect(await p.execute(s.id, { code: 'import os\nopen("note.txt", "w").write("kept")\nprint(os.getuid())' })).toMatchObject({ status: 'completed', stdout: '1000\n', runtime_node: node });
    expect(await p.execute(s.id, { code: 'print(open("note.txt").read())' })).toMatchObject({ status: 'completed', stdout: 'kept\n' });
    expect(await p.execute(s.id, { code: 'import sys\nsys.exit(4)' })).toMatchObject({ status: 'completed', exit_code: 4 });
    // the session's pod says whose it is
    const [row] = await p.query('SELECT container_id FROM sessions WHERE id = ?', [s.id]);
    expect((await pods(`sandbox.session=${s.id}`)).map((x) => x.metadata.name)).toEqual([row.container_id]);
  });

  it('a deleted session takes its pod with it', async () => {
    const s = await p.session();
    await p.execute(s.id, { code: 'print(1)' });
    const [row] = await p.query('SELECT container_id FROM sessions WHERE id = ?', [s.id]);
    expect((await p.api('DELETE', `/v1/sessions/${s.id}`)).status).toBeLessThan(300);
    await p.until('the session pod gone', async () => !(await pods('sandbox.managed=true')).some((x) => x.metadata.name === row.container_id && !x.metadata.deletionTimestamp));
  });

  it('an agent killed mid-execution: the reaper hands it to a new agent, it ends once', async () => {
    const first = p.nodeIds[0]!;
    const s = await p.session();
    const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time\ntime.sleep(2)\nprint("done")' });
    await p.until('running', async () => (await p.api('GET', `/v1/executions/${posted.body.id}`)).body.status === 'running');
    // the reaper declares the silent node lost and gives its attempt to the next agent
    p.startReaper({ REAPER_INTERVAL_MS: '300' });
    await p.stopAgent(first, 'SIGKILL');
    const second = p.startAgent();
    const e = await p.until('the retry to end', async () => ((x) => ['completed', 'failed'].includes(x.status) && x)((await p.api('GET', `/v1/executions/${posted.body.id}`)).body), 120_000);
    expect(e).toMatchObject({ status: 'completed', stdout: 'done\n', attempt: 2, runtime_node: second });
    expect(e.attempts.map((a: { node: string; outcome: string }) => [a.node, a.outcome])).toEqual([
      [first, 'agent_lost'],
      [second, 'completed'],
    ]);
  });
});
