import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kubectl, localClusterNode, REPO_ROOT, startLocalCluster, until as waitUntil } from '@sandbox/testing';

/**
 * The whole platform on the real single-node cluster of tools/k8s-up.sh, as an operator runs it:
 * k8s/overlays/local (overlays/dev on images built here by tools/k8s-images.sh) applied server-side;
 * MariaDB, Redis and the S3 server on PersistentVolumes, the migrate Job, the control plane behind its
 * Service (kube-proxy), the reaper, and the runtime agent as a DaemonSet running sandboxes as pods on
 * its node (RUNTIME_MODE=kubernetes, in-cluster credentials, names from CoreDNS). Executions go through
 * the control plane's Service; the agent pod is deleted mid-execution; the control plane scales to 3
 * and back while a client submits.
 */
const run = promisify(execFile);
const NS = 'sandbox-system';
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed', 'cancelled'];
jest.setTimeout(300_000);
// the controllers, the kubelet and the reaper act within seconds: waits of up to three minutes
const until = <T>(what: string, probe: () => Promise<T | false | null | undefined>, ms = 180_000) => waitUntil(what, probe, ms, 500);
const k = (...args: string[]) => kubectl('-n', NS, ...args);

describe('the platform on Kubernetes (k8s/overlays/local)', () => {
  let url = '';
  let key = '';
  let node = '';

  /** A request to the control plane's Service. A POST carries an idempotency key, and is sent again
   *  with it when the connection failed (a replica going away): accepted once, whatever happened. */
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any; resent: number }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (method === 'POST') headers['idempotency-key'] = randomUUID();
    for (let resent = 0; ; resent++) {
      try {
        const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null, resent };
      } catch (e) {
        if (resent === 5) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const session = async (): Promise<string> => {
    const r = await api('POST', '/v1/sessions', { template_id: 'python-basic' });
    if (r.status !== 201) throw new Error(`session: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  };
  const post = async (sessionId: string, code: string) => {
    const r = await api('POST', `/v1/sessions/${sessionId}/executions`, { code });
    if (r.status !== 202) throw new Error(`not accepted: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id as string, resent: r.resent };
  };
  // each test ends its sessions: their sandbox pods hold CPU requests on the one small node
  const end = async (sessionId: string) => expect((await api('DELETE', `/v1/sessions/${sessionId}`)).status).toBe(200);
  const get = async (id: string) => (await api('GET', `/v1/executions/${id}`)).body;
  const settled = (id: string) => until(`${id} terminal`, async () => ((e) => TERMINAL.includes(e.status) && e)(await get(id)));
  const podsOf = async (app: string) =>
    (JSON.parse(await k('get', 'pods', '-l', `app.kubernetes.io/name=${app}`, '-o', 'json')).items as { metadata: { name: string; deletionTimestamp?: string }; status: any }[]);
  const ready = (pod: { status: any }) => pod.status.phase === 'Running' && pod.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  const rollout = (kind: string, name: string) => k('rollout', 'status', `${kind}/${name}`, '--timeout=180s');

  beforeAll(async () => {
    const t0 = Date.now();
    await startLocalCluster();
    node = await localClusterNode();
    // from nothing: an earlier run's objects and claims go, and tools/k8s-up.sh offers their volumes again
    await kubectl('delete', 'namespace', NS, 'sandbox-sandboxes', '--ignore-not-found', '--wait', '--timeout=180s');
    await startLocalCluster();
    await run('bash', [join(REPO_ROOT, 'tools/k8s-images.sh')], { timeout: 900_000, maxBuffer: 16 << 20 });
    await kubectl('label', 'node', node, 'sandbox.dev/runtime=true', '--overwrite');
    await kubectl('apply', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/local'));
    await k('wait', '--for=condition=complete', 'job/migrate', '--timeout=300s');
    for (const [kind, name] of [['statefulset', 'mariadb'], ['statefulset', 'redis'], ['statefulset', 'minio'], ['deployment', 'control-plane'], ['deployment', 'reaper'], ['deployment', 'prometheus'], ['daemonset', 'runtime-agent']]) {
      await rollout(kind!, name!);
    }
    // the first admin key, as the README has the operator make it: in a control-plane pod, then the
    // Secret the agents' preStop drain and Prometheus read
    const created = await k('exec', 'deploy/control-plane', '--', 'node', 'dist/tools/api-keys.js', 'create', '--scope', 'admin', '--tenant', 'e2e', '--name', 'k8s e2e');
    key = created.trim().split('\n').pop()!;
    await k('create', 'secret', 'generic', 'sandbox-admin-key', `--from-literal=api-key=${key}`);
    // Prometheus reads it at once (the kubelet would refresh its optional volume within a minute or so)
    await k('rollout', 'restart', 'deployment/prometheus');
    await rollout('deployment', 'prometheus');
    url = `http://${(await k('get', 'service', 'control-plane', '-o', 'jsonpath={.spec.clusterIP}')).trim()}:8000`;
    await until(`agent ${node} online`, async () => (await api('GET', `/v1/nodes/${node}`)).body?.status === 'online');
    console.log(`platform up on the cluster in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }, 1_800_000);

  afterAll(async () => {
    await kubectl('delete', 'namespace', NS, 'sandbox-sandboxes', '--wait', '--timeout=180s').catch((e: Error) => console.error(e.message));
    await kubectl('label', 'node', node, 'sandbox.dev/runtime-').catch((e: Error) => console.error(e.message));
  }, 300_000);

  it('has every workload Ready on its volumes, and runs executions through the Service in sandbox pods on the node', async () => {
    const all = JSON.parse(await k('get', 'pods', '-o', 'json')).items as { metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string }; status: any }[];
    // the Prometheus pod the restart replaced may still be going
    const pods = all.filter((p) => !p.metadata.deletionTimestamp);
    const states = pods.map((p) => `${p.metadata.labels['app.kubernetes.io/name']} ${ready(p) ? 'ready' : p.status.phase}`).sort();
    expect(states).toEqual(['control-plane ready', 'mariadb ready', 'migrate Succeeded', 'minio ready', 'prometheus ready', 'reaper ready', 'redis ready', 'runtime-agent ready']);
    const claims = JSON.parse(await k('get', 'pvc', '-o', 'json')).items.map((c: { metadata: { name: string }; status: { phase: string } }) => `${c.metadata.name} ${c.status.phase}`);
    expect(claims.sort()).toEqual(['data-mariadb-0 Bound', 'data-minio-0 Bound', 'data-redis-0 Bound']);

    const s = await session();
    const e = await settled((await post(s, 'print(6 * 7)')).id);
    expect(e).toMatchObject({ status: 'completed', stdout: '42\n', retry_count: 0, runtime_node: node });
    // the session's sandbox: a pod of the agent's, pinned to its node, hardened
    const sandboxes = JSON.parse(await kubectl('-n', 'sandbox-sandboxes', 'get', 'pods', '-o', 'json')).items as { spec: any }[];
    expect(sandboxes.length).toBeGreaterThanOrEqual(1);
    for (const p of sandboxes) {
      expect(p.spec).toMatchObject({ nodeName: node, automountServiceAccountToken: false });
      expect(p.spec.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    }
    await end(s);
  });

  it("has Prometheus scrape the control plane, the reaper and the agent, found by Kubernetes discovery, with the admin key's Secret", async () => {
    const prometheus = `http://${(await k('get', 'service', 'prometheus', '-o', 'jsonpath={.spec.clusterIP}')).trim()}:9090`;
    const up = await until('every annotated pod scraped', async () => {
      const { activeTargets } = ((await (await fetch(`${prometheus}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } }).data;
      const healthy = activeTargets.filter((t) => t.health === 'up').map((t) => t.labels.job).sort();
      return healthy.length === 3 && healthy;
    });
    expect(up).toEqual(['control-plane', 'reaper', 'runtime-agent']);
  });

  it('an agent pod deleted mid-execution: the DaemonSet starts another, the execution is retried there with its workspace and ends once', async () => {
    const s = await session();
    expect((await settled((await post(s, 'open("state.txt", "w").write("written before")')).id)).status).toBe('completed');
    const { id } = await post(s, 'import time\ntime.sleep(4)\nprint(open("state.txt").read())');
    await until(`${id} running`, async () => (await get(id)).status === 'running');
    const [victim, ...others] = await podsOf('runtime-agent');
    expect(others).toEqual([]);
    // no grace: the agent has no time to hand anything over
    await k('delete', 'pod', victim!.metadata.name, '--grace-period=0', '--force');
    const e = await settled(id);
    expect(e).toMatchObject({ status: 'completed', stdout: 'written before\n', retry_count: 1, attempt: 2, runtime_node: node });
    expect(e.attempts.map((a: { attempt: number; outcome: string }) => [a.attempt, a.outcome])).toEqual([
      [1, 'agent_lost'],
      [2, 'completed'],
    ]);
    const [successor] = await podsOf('runtime-agent');
    expect(successor!.metadata.name).not.toBe(victim!.metadata.name);
    expect(ready(successor!)).toBe(true);
    await end(s);
  });

  it('scales the control plane to 3 and back to 1 while clients submit: every submission accepted once and completed', async () => {
    // two clients, each submitting in a session of its own and reading the result before the next
    const ends: { n: number; status: string; stdout: string }[] = [];
    let resent = 0;
    let stop = false;
    const client = async (sessionId: string, lane: number) => {
      for (let n = lane; !stop; n += 2) {
        const r = await post(sessionId, `print(${n} * 2)`);
        resent += r.resent;
        const e = await settled(r.id);
        ends.push({ n, status: e.status, stdout: e.stdout });
      }
    };
    const sessions = await Promise.all([session(), session()]);
    const clients = Promise.all(sessions.map(client));
    const more = async (what: string, count: number) => {
      const from = ends.length;
      await until(what, async () => ends.length >= from + count);
    };
    try {
      await k('scale', 'deployment/control-plane', '--replicas=3');
      await rollout('deployment', 'control-plane');
      // a few requests reach each new replica before they go
      await more('executions after the scale-up', 20);
      await k('scale', 'deployment/control-plane', '--replicas=1');
      await until('1 control-plane replica left', async () => (await podsOf('control-plane')).length === 1);
      await more('executions after the scale-down', 10);
    } finally {
      stop = true;
      await clients;
    }
    for (const e of ends) expect(e).toEqual({ n: e.n, status: 'completed', stdout: `${e.n * 2}\n` });
    // once each: a POST sent again made no second execution
    const made = async (sessionId: string) => {
      let count = 0;
      for (let cursor = ''; ; ) {
        const page = (await api('GET', `/v1/sessions/${sessionId}/executions?limit=100${cursor && `&cursor=${cursor}`}`)).body;
        count += page.items.length;
        if (!page.next_cursor) return count;
        cursor = page.next_cursor;
      }
    };
    expect((await made(sessions[0]!)) + (await made(sessions[1]!))).toBe(ends.length);
    await Promise.all(sessions.map(end));
    console.log(`${ends.length} executions while the control plane scaled 1 → 3 → 1, every one completed; ${resent} POSTs sent again after a connection failed`);
  });
});
