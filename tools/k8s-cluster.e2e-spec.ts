import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kubectl, LOCAL_CLUSTER, loadImageIntoCluster, REPO_ROOT, startLocalCluster, until as waitUntil } from '@sandbox/testing';

/**
 * k8s/ on a real single-node Kubernetes cluster (tools/k8s-up.sh: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and a kubelet on a containerd of its own, built from
 * k8s.io/kubernetes): every overlay validated server-side against the cluster's own OpenAPI schema and
 * admission, the dev overlay applied server-side, its workloads turned into pods by the real
 * controllers, its RBAC and Pod Security decided by the real authorizer and admission; then hardened
 * sandbox pods run on the node from an image imported from Docker: output, exec, attach, pod network.
 */
const run = promisify(execFile);
const KUBECONFIG = LOCAL_CLUSTER.kubeconfig;
const KUBECTL = LOCAL_CLUSTER.kubectl;
const AGENT = 'system:serviceaccount:sandbox-system:runtime-agent';
const CONTROL_PLANE = 'system:serviceaccount:sandbox-system:control-plane';
const SANDBOX_IMAGE = 'sandbox-python:3.11-basic';
jest.setTimeout(120_000);

/** kubectl with a manifest on stdin */
function kubectlIn(input: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], { maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin!.end(input);
  });
}
const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await kubectl(...args, '-o', 'json')) as T;
/** cordon or uncordon every node */
const nodes = async (verb: 'cordon' | 'uncordon') => kubectl(verb, ...(await kubectl('get', 'nodes', '-o', 'name')).trim().split('\n'));
const canI = async (as: string, verb: string, resource: string, namespace: string): Promise<string> =>
  (await kubectl('auth', 'can-i', verb, resource, '-n', namespace, '--as', as).catch((e: { stdout?: string }) => e.stdout ?? '')).trim();

// the controllers and the kubelet act within seconds: waits of up to 90 s, polled twice a second
const until = <T>(what: string, probe: () => Promise<T | false | null | undefined>, ms = 90_000) => waitUntil(what, probe, ms, 500);

type Item = { kind: string; metadata: { name: string; namespace?: string; ownerReferences?: { kind: string; name: string }[] }; spec?: any; status?: any };

describe('k8s/ on a real Kubernetes API server', () => {
  beforeAll(async () => {
    // the first build of the components takes long; later runs start from the cache
    await startLocalCluster();
    // from nothing (the cluster keeps its state between runs: an earlier apply would make this run's
    // dry runs updates), then the namespaces: a server-side dry run of namespaced objects needs theirs
    await kubectl('delete', 'namespace', 'sandbox-system', 'sandbox-sandboxes', '--ignore-not-found', '--wait', '--timeout=120s');
    await kubectl('apply', '--server-side', '-f', join(REPO_ROOT, 'k8s/base/namespaces.yaml'));
  }, 3_100_000);


  it.each(['dev', 'local', 'production'])('overlay %s: every object passes the server-side dry run (schema, defaulting, admission)', async (overlay) => {
    const out = await kubectl('apply', '--server-side', '--dry-run=server', '--validate=strict', '-k', join(REPO_ROOT, 'k8s/overlays', overlay));
    const rendered = (await kubectl('kustomize', join(REPO_ROOT, 'k8s/overlays', overlay))).split(/^---$/m).filter((d) => /\bkind:/.test(d));
    // one "serverside-applied (server dry run)" line per object kustomize renders
    expect(out.trim().split('\n').filter((l) => /\(server dry run\)$/.test(l))).toHaveLength(rendered.length);
  });

  describe('the dev overlay applied', () => {
    // the node holds none of the platform's images (nothing is pulled here): cordoned, it is given none
    // of the overlay's pods, and the overlay goes before it is opened again
    beforeAll(async () => {
      await nodes('cordon');
      await kubectl('apply', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/dev'));
    });
    afterAll(async () => {
      await kubectl('delete', 'namespace', 'sandbox-system', '--wait', '--timeout=120s');
      await nodes('uncordon');
    });

    it('is stable: applying it again changes nothing and conflicts with no field manager', async () => {
      const out = await kubectl('apply', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/dev'));
      expect(out).not.toMatch(/conflict/i);
      const diff = await run(KUBECTL, ['--kubeconfig', KUBECONFIG, 'diff', '--server-side', '-k', join(REPO_ROOT, 'k8s/overlays/dev')]).then(
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
      // seen by the scheduler, placed nowhere: made, never run
      const placed = await until('the scheduler to find no place for every pod', async () => {
        const { items } = await json<{ items: Item[] }>('get', 'pods', '-n', 'sandbox-system');
        const unschedulable = (p: Item) => p.status.conditions?.some((c: { type: string; status: string; reason?: string }) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
        return items.length >= pods.length && items.every(unschedulable) && items;
      });
      for (const p of placed) expect([p.metadata.name, p.status.phase, p.spec.nodeName]).toEqual([p.metadata.name, 'Pending', undefined]);
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

  describe('sandbox pods on the node', () => {
    const NS = 'sandbox-sandboxes';
    const NET_NS = 'k8s-e2e-network';
    /** a sandbox pod as Pod Security `restricted` requires, its workspace in memory */
    const sandboxPod = (name: string, namespace: string, container: object) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        automountServiceAccountToken: false,
        restartPolicy: 'Never',
        // `sleep` as the pod's first process ignores SIGTERM
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        volumes: [{ name: 'workspace', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }],
        containers: [
          {
            name: 'sandbox',
            image: SANDBOX_IMAGE,
            imagePullPolicy: 'Never',
            resources: { limits: { cpu: '500m', memory: '128Mi' } },
            volumeMounts: [{ name: 'workspace', mountPath: '/workspace' }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
            ...container,
          },
        ],
      },
    });
    const create = async (pod: object) => expect(await kubectlIn(JSON.stringify(pod), 'create', '-f', '-')).toMatch(/created/);
    const podNamed = (namespace: string, name: string) => json<Item>('get', 'pod', name, '-n', namespace);
    const running = (namespace: string, name: string) =>
      until(`pod ${namespace}/${name} running`, async () => {
        const p = await podNamed(namespace, name);
        return p.status.phase === 'Running' && p.status.containerStatuses?.[0]?.ready && p;
      });

    beforeAll(async () => {
      // no registry here: the node's containerd gets the image from Docker
      await loadImageIntoCluster(SANDBOX_IMAGE);
      await nodes('uncordon');
      await kubectl('delete', 'pods', '--all', '-n', NS, '--wait', '--timeout=60s');
      await kubectl('delete', 'namespace', NET_NS, '--ignore-not-found', '--wait', '--timeout=120s');
    }, 400_000);
    afterAll(async () => {
      await kubectl('delete', 'pods', '--all', '-n', NS, '--wait=false');
      await kubectl('delete', 'namespace', NET_NS, '--ignore-not-found', '--wait=false');
    });

    it('the node is registered and Ready: a kubelet of the same release on containerd', async () => {
      const { items } = await json<{ items: Item[] }>('get', 'nodes');
      expect(items).toHaveLength(1);
      const [node] = items;
      expect(node.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
      expect(node.status.nodeInfo.kubeletVersion).toBe('v1.37.2');
      expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
      expect(node.spec.unschedulable).toBeFalsy();
    });

    it('a hardened sandbox pod runs its program to completion; its output read through the API server', async () => {
      await create(sandboxPod('print-42', NS, { command: ['python3', '-c', 'print(42)'] }));
      const done = await until('print-42 to finish', async () => {
        const p = await podNamed(NS, 'print-42');
        return ['Succeeded', 'Failed'].includes(p.status.phase) && p;
      });
      expect([done.status.phase, done.status.containerStatuses[0].state.terminated.exitCode, done.spec.nodeName]).toEqual(['Succeeded', 0, expect.any(String)]);
      expect(await kubectl('logs', '-n', NS, 'print-42')).toBe('42\n');
    });

    it('exec into a running sandbox pod: uid 1000, no capability, no new privileges, seccomp, read-only root, the workspace a sized tmpfs', async () => {
      await create(sandboxPod('exec-probe', NS, { command: ['sleep', 'infinity'] }));
      await running(NS, 'exec-probe');
      const out = await kubectl(
        'exec', '-n', NS, 'exec-probe', '--', 'sh', '-c',
        'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; grep " /workspace " /proc/mounts; echo kept >/workspace/f && cat /workspace/f; touch /root-fs 2>&1 || true',
      );
      const lines = out.trim().split('\n');
      expect(lines[0]).toBe('1000');
      expect(lines.slice(1, 5).map((l) => l.replace(/\s+/g, ' '))).toEqual(['CapEff: 0000000000000000', 'CapBnd: 0000000000000000', 'NoNewPrivs: 1', 'Seccomp: 2']);
      expect(lines[5]).toMatch(/^tmpfs \/workspace tmpfs rw,.*size=65536k/);
      expect(lines.slice(6)).toEqual(['kept', expect.stringMatching(/Read-only file system/)]);
    });

    it('attach to a sandbox pod: what is written to its stdin comes back on its stdout', async () => {
      await create(sandboxPod('attach-probe', NS, { stdin: true, command: ['python3', '-u', '-c', 'import sys\nfor line in sys.stdin: print("got", line.strip())'] }));
      await running(NS, 'attach-probe');
      const child = spawn(KUBECTL, ['--kubeconfig', KUBECONFIG, 'attach', '-i', '-q', '-n', NS, 'attach-probe']);
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      try {
        // until the attach stream is up: a line written before is not lost, but neither is it echoed back to us
        await until('the attached stdout to answer', async () => {
          child.stdin.write('hello\n');
          await new Promise((r) => setTimeout(r, 500));
          return stdout.includes('got hello');
        }, 30_000);
      } finally {
        child.stdin.end();
      }
      expect(await exited).toBe(0);
      expect(await kubectl('logs', '-n', NS, 'attach-probe')).toMatch(/^got hello$/m);
    });

    it('pod network: a pod reaches another by its pod IP, in the node\'s pod range', async () => {
      // apart from the sandboxes: the bridge network does not enforce their deny-all NetworkPolicy
      await kubectl('create', 'namespace', NET_NS);
      await create(sandboxPod('server', NET_NS, { command: ['sh', '-c', 'echo pong >/workspace/ping && exec python3 -m http.server 8080 --directory /workspace'], ports: [{ containerPort: 8080 }] }));
      await create(sandboxPod('client', NET_NS, { command: ['sleep', 'infinity'] }));
      const server = await running(NET_NS, 'server');
      const client = await running(NET_NS, 'client');
      for (const p of [server, client]) expect(p.status.podIP).toMatch(/^10\.88\./);
      expect(client.status.podIP).not.toBe(server.status.podIP);
      const got = await until('the server to answer', () =>
        kubectl('exec', '-n', NET_NS, 'client', '--', 'python3', '-c', `import urllib.request; print(urllib.request.urlopen("http://${server.status.podIP}:8080/ping", timeout=5).read().decode(), end="")`),
      );
      expect(got).toBe('pong\n');
    });
  });
});
