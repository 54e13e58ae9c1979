import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@sandbox/testing';

/**
 * k8s/ on a real Kubernetes API server (tools/k8s-up.sh: etcd, kube-apiserver and
 * kube-controller-manager built from k8s.io/kubernetes): every overlay validated server-side against
 * the cluster's own OpenAPI schema and admission, the dev overlay applied server-side, its workloads
 * turned into pods by the real controllers, its RBAC and Pod Security decided by the real authorizer
 * and admission. There is no kubelet here yet: pods are made but stay Pending.
 */
const run = promisify(execFile);
const K8S = join(REPO_ROOT, '.stack/k8s');
const KUBECONFIG = join(K8S, 'admin.kubeconfig');
const AGENT = 'system:serviceaccount:sandbox-system:runtime-agent';
const CONTROL_PLANE = 'system:serviceaccount:sandbox-system:control-plane';
jest.setTimeout(120_000);

async function kubectl(...args: string[]): Promise<string> {
  return (await run(join(K8S, 'bin/kubectl'), ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 64 << 20 })).stdout;
}
/** kubectl with a manifest on stdin */
function kubectlIn(input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(join(K8S, 'bin/kubectl'), ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(input);
  });
}
const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await kubectl(...args, '-o', 'json')) as T;
const canI = async (as: string, verb: string, resource: string, namespace: string): Promise<string> =>
  (await kubectl('auth', 'can-i', verb, resource, '-n', namespace, '--as', as).catch((e: { stdout?: string }) => e.stdout ?? '')).trim();

async function until<T>(what: string, probe: () => Promise<T | false | null | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

type Item = { kind: string; metadata: { name: string; namespace?: string; ownerReferences?: { kind: string; name: string }[] }; spec?: any; status?: any };

describe('k8s/ on a real Kubernetes API server', () => {
  beforeAll(async () => {
    // the first build of the components takes long; later runs start from the cache
    await run('bash', [join(REPO_ROOT, 'tools/k8s-up.sh')], { timeout: 3_000_000, maxBuffer: 16 << 20 });
    // from nothing (the cluster keeps its state between runs: an earlier apply would make this run's
    // dry runs updates), then the namespaces: a server-side dry run of namespaced objects needs theirs
    await kubectl('delete', 'namespace', 'sandbox-system', 'sandbox-sandboxes', '--ignore-not-found', '--wait', '--timeout=120s');
    await kubectl('apply', '--server-side', '-f', join(REPO_ROOT, 'k8s/base/namespaces.yaml'));
  }, 3_100_000);

  it.each(['dev', 'production'])('overlay %s: every object passes the server-side dry run (schema, defaulting, admission)', async (overlay) => {
    const out = await kubectl('apply', '--server-side', '--dry-run=server', '--validate=strict', '-k', join(REPO_ROOT, 'k8s/overlays', overlay));
    const rendered = (await kubectl('kustomize', join(REPO_ROOT, 'k8s/overlays', overlay))).split(/^---$/m).filter((d) => /\bkind:/.test(d));
    // one "serverside-applied (server dry run)" line per object kustomize renders
    expect(out.trim().split('\n').filter((l) => /\(server dry run\)$/.test(l))).toHaveLength(rendered.length);
  });

  describe('the dev overlay applied', () => {
    beforeAll(async () => {
      await kubectl('apply', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/dev'));
    });

    it('is stable: applying it again changes nothing and conflicts with no field manager', async () => {
      const out = await kubectl('apply', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/dev'));
      expect(out).not.toMatch(/conflict/i);
      const diff = await run(join(K8S, 'bin/kubectl'), ['--kubeconfig', KUBECONFIG, 'diff', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/dev')]).then(
        (r) => r.stdout,
        (e: { code?: number; stdout?: string }) => (e.code === 1 ? e.stdout! : Promise.reject(e)),
      );
      expect(diff).toBe('');
    });

    it('the controllers make every workload its pods: Deployments, StatefulSets, the migrate Job; no node is labelled, so no agent pod', async () => {
      const pods = await until('the pods of every workload', async () => {
        const { items } = await json<{ items: Item[] }>('get', 'pods', '-n', 'sandbox-system');
        const owners = new Set(items.flatMap((p) => (p.metadata.ownerReferences ?? []).map((o) => o.kind)));
        const names = items.map((p) => p.metadata.name).join(' ');
        return ['ReplicaSet', 'StatefulSet', 'Job'].every((k) => owners.has(k)) && /\bmariadb-0\b/.test(names) && /\bredis-0\b/.test(names) && /\bminio-0\b/.test(names) && items;
      });
      const prefixes = pods.map((p) => p.metadata.name.replace(/-[a-z0-9]{8,10}-[a-z0-9]{5}$|-[a-z0-9]{5}$|-\d+$/, '')).sort();
      expect(new Set(prefixes)).toEqual(new Set(['control-plane', 'reaper', 'prometheus', 'mariadb', 'redis', 'minio', 'migrate']));
      // no kubelet, no scheduler here: made, never run
      for (const p of pods) expect([p.metadata.name, p.status.phase]).toEqual([p.metadata.name, 'Pending']);
      // every container of every pod as admitted: limits, non-root, nothing to escalate
      for (const p of pods) {
        for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
          const sc = { ...p.spec.securityContext, ...c.securityContext };
          expect([p.metadata.name, c.name, Boolean(c.resources?.limits?.memory), sc.runAsNonRoot, sc.allowPrivilegeEscalation]).toEqual([p.metadata.name, c.name, true, true, false]);
        }
      }
      const agent = await json<Item>('get', 'daemonset', 'runtime-agent', '-n', 'sandbox-system');
      expect(agent.status.desiredNumberScheduled).toBe(0);
      const hpa = await json<Item>('get', 'hpa', 'control-plane', '-n', 'sandbox-system');
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 3]);
    });

    it('RBAC as the API server decides it: agents make sandbox pods in their namespace only, the control plane only reads them, nobody reads secrets', async () => {
      expect(await canI(AGENT, 'create', 'pods', 'sandbox-sandboxes')).toBe('yes');
      expect(await canI(AGENT, 'create', 'pods/attach', 'sandbox-sandboxes')).toBe('yes');
      expect(await canI(AGENT, 'delete', 'pods', 'sandbox-sandboxes')).toBe('yes');
      expect(await canI(AGENT, 'create', 'pods', 'sandbox-system')).toBe('no');
      expect(await canI(AGENT, 'get', 'secrets', 'sandbox-sandboxes')).toBe('no');
      expect(await canI(AGENT, 'list', 'nodes', 'default')).toBe('yes');
      expect(await canI(CONTROL_PLANE, 'list', 'pods', 'sandbox-sandboxes')).toBe('yes');
      expect(await canI(CONTROL_PLANE, 'create', 'pods', 'sandbox-sandboxes')).toBe('no');
      expect(await canI(CONTROL_PLANE, 'get', 'secrets', 'sandbox-system')).toBe('no');
    });

    it('Pod Security admission on the sandbox namespace: a sandbox pod as the Docker runtime makes its container is admitted, anything more refused', async () => {
      const pod = (securityContext: object, spec: object = {}) =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'admission-probe', namespace: 'sandbox-sandboxes' },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'sandbox', image: 'sandbox-python:3.11-basic', securityContext }], ...spec },
        });
      const dryRun = (manifest: string) => kubectlIn(manifest, 'apply', '--dry-run=server', '-f', '-').catch((e: Error) => e.message);
      // the executor as root with only the three capabilities it needs to drop programs to uid 1000
      const sandbox = { runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'KILL'] }, seccompProfile: { type: 'RuntimeDefault' }, readOnlyRootFilesystem: true };
      expect(await dryRun(pod(sandbox))).toMatch(/pod\/admission-probe created \(server dry run\)/);
      expect(await dryRun(pod({ ...sandbox, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } }))).toMatch(/violates PodSecurity "baseline:latest": non-default capabilities/);
      expect(await dryRun(pod(sandbox, { hostNetwork: true }))).toMatch(/violates PodSecurity "baseline:latest": host namespaces/);
      expect(await dryRun(pod(sandbox, { volumes: [{ name: 'host', hostPath: { path: '/' } }] }))).toMatch(/violates PodSecurity "baseline:latest": hostPath volumes/);
    });

    it('NetworkPolicies: default deny for sandboxes, and the data stores open only to the platform', async () => {
      const { items } = await json<{ items: Item[] }>('get', 'networkpolicies', '-A');
      const byName = new Map(items.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
      // every pod of the namespace, no rule: nothing in, nothing out, unless another policy allows it
      const denyAll = [...byName.values()].find(
        (p) => p.metadata.namespace === 'sandbox-sandboxes' && Object.keys(p.spec.podSelector ?? {}).length === 0 && !p.spec.ingress && !p.spec.egress,
      );
      expect(denyAll?.spec.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));
      for (const store of ['mariadb', 'redis']) {
        const policy = [...byName.values()].find((p) => p.metadata.namespace === 'sandbox-system' && p.spec.podSelector?.matchLabels?.['app.kubernetes.io/name'] === store);
        expect([store, Boolean(policy)]).toEqual([store, true]);
      }
    });
  });
});
