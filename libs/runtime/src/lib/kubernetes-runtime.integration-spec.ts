import { randomBytes } from 'node:crypto';
import { kubectl, LOCAL_CLUSTER, loadImageIntoCluster, localClusterNode, startLocalCluster, testSandboxSpec, until } from '@sandbox/testing';
import { type RunRequest, type Sandbox, SandboxLostError, startFailureKind } from './container-runtime';
import { KubernetesRuntime } from './kubernetes-runtime';

/**
 * KubernetesRuntime on the real single-node cluster of tools/k8s-up.sh: sandbox pods on its kubelet,
 * the executor reached by attach through the real API server. A namespace of its own.
 */
const NAMESPACE = `runtime-it-${randomBytes(3).toString('hex')}`;
const nodeId = `itest-${randomBytes(3).toString('hex')}`;
let runtime: KubernetesRuntime;
let seq = 0;
const run = (sandbox: Sandbox, code: string, over: Partial<RunRequest> = {}) =>
  sandbox.run({ id: `r${++seq}`, language: 'python', code, timeoutMs: 10_000, maxOutputBytes: 1 << 20, ...over });

describe('KubernetesRuntime on a real cluster', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    await startLocalCluster();
    await loadImageIntoCluster('sandbox-python:3.11-basic');
    await kubectl('create', 'namespace', NAMESPACE);
    runtime = new KubernetesRuntime({ namespace: NAMESPACE, k8sNode: await localClusterNode(), executorGraceMs: 3000, kubeconfigFile: LOCAL_CLUSTER.kubeconfig });
    sandbox = await runtime.create(testSandboxSpec(nodeId));
  }, 3_300_000);

  afterAll(async () => {
    await kubectl('delete', 'namespace', NAMESPACE, '--wait=false').catch(() => undefined);
  });

  it('runs python through the executor attached over the API server: exit code, both streams', async () => {
    const r = await run(sandbox, 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nsys.exit(3)');
    expect([r.stdout.toString(), r.stderr.toString(), r.exitCode, r.timedOut]).toEqual(['out\n', 'err\n', 3, false]);
  });

  it('runs programs as the sandbox user with no capability, on a read-only root, in a workspace that keeps files between runs', async () => {
    const r = await run(
      sandbox,
      [
        'import os',
        'status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
        'print(os.getuid(), os.getgid(), *(status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp")))',
        'open("/workspace/kept.txt", "w").write("kept")',
        'try:\n  open("/usr/lib/x", "w")\nexcept OSError as e:\n  print(e.errno)',
      ].join('\n'),
    );
    // as in the Docker runtime: no capability (the bounding set keeps the executor's three, which no new
    // privileges makes unreachable), seccomp filtering, EROFS on the root
    expect(r.stdout.toString()).toBe('1000 1000 0000000000000000 0000000000000000 00000000000000e0 1 2\n30\n');
    expect((await run(sandbox, 'print(open("/workspace/kept.txt").read())')).stdout.toString()).toBe('kept\n');
  });

  it('the pod as the API server holds it: pinned to the node, requests and limits, no token, the executor root with three capabilities only', async () => {
    const pod = JSON.parse(await kubectl('get', 'pod', sandbox.containerId, '-n', NAMESPACE, '-o', 'json'));
    const [c] = pod.spec.containers;
    expect(pod.spec.nodeName).toBe(await localClusterNode());
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(c.securityContext).toMatchObject({ runAsUser: 0, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'KILL'] } });
    // memory requested whole; CPU overcommitted as the agent's budget does (8 per core)
    expect(c.resources).toEqual({ limits: { cpu: '1', memory: String((256 + 64 + 16 + 16) << 20) }, requests: { cpu: '125m', memory: String((256 + 64 + 16 + 16) << 20) } });
  });

  it('gives programs the spec\'s nofile, fsize and core limits, which they cannot raise (no per-pod ulimits in Kubernetes)', async () => {
    const spec = testSandboxSpec(nodeId);
    const r = await run(
      sandbox,
      'import resource\nfor r in (resource.RLIMIT_NOFILE, resource.RLIMIT_FSIZE, resource.RLIMIT_CORE):\n    print(*resource.getrlimit(r))\ntry:\n    resource.setrlimit(resource.RLIMIT_NOFILE, (1 << 20, 1 << 20))\nexcept ValueError as e:\n    print(e)',
    );
    expect(r.stdout.toString()).toBe(`${spec.nofile} ${spec.nofile}\n${spec.fsizeBytes} ${spec.fsizeBytes}\n0 0\nnot allowed to raise maximum limit\n`);
  });

  it('the node\'s allocatable less what every other pod on it requests is what its sandboxes may hold', async () => {
    const node = JSON.parse(await kubectl('get', 'node', await localClusterNode(), '-o', 'json'));
    const before = await runtime.allocatable(nodeId);
    // its own sandbox pods are in the agent's budget already: they do not count
    expect(before).toEqual(await runtime.allocatable(nodeId));
    const other = `other-${randomBytes(3).toString('hex')}`;
    await kubectl('run', other, '-n', NAMESPACE, '--image=sandbox.local/pause:3.10.2', '--image-pull-policy=Never', '--restart=Never', '--overrides', JSON.stringify({ spec: { containers: [{ name: other, image: 'sandbox.local/pause:3.10.2', resources: { requests: { cpu: '250m', memory: '64Mi' } } }] } }));
    try {
      expect(await runtime.allocatable(nodeId)).toEqual({ memoryBytes: before.memoryBytes - (64 << 20), cpuNanos: before.cpuNanos - 0.25 * 8e9 });
      // another agent's sandboxes are other pods to this one
      expect((await runtime.allocatable('another-node')).memoryBytes).toBe(before.memoryBytes - (64 << 20) - Number((await kubectl('get', 'pod', sandbox.containerId, '-n', NAMESPACE, '-o', 'jsonpath={.spec.containers[0].resources.requests.memory}')).trim()));
    } finally {
      await kubectl('delete', 'pod', other, '-n', NAMESPACE, '--wait=false');
    }
    expect(before.cpuNanos).toBeLessThanOrEqual(Number(node.status.allocatable.cpu) * 8e9);
  });

  it('lists the sandboxes of its node by label, marks one as a session', async () => {
    await runtime.assign(sandbox.containerId, 'session-1');
    const listed = await runtime.list(nodeId);
    expect(listed).toEqual([expect.objectContaining({ containerId: sandbox.containerId, running: true, labels: expect.objectContaining({ 'sandbox.session': 'session-1', 'sandbox.template': 'python-basic' }) })]);
    expect(await runtime.list('another-node')).toEqual([]);
  });

  it('re-attaches to a live sandbox after the agent let go of it', async () => {
    sandbox.detach();
    sandbox = await runtime.reattach(sandbox.containerId, 'python-basic');
    expect((await run(sandbox, 'print(open("/workspace/kept.txt").read())')).stdout.toString()).toBe('kept\n');
  });

  it('a missing image is `image_missing`, and its pod is removed', async () => {
    const err = await runtime.create(testSandboxSpec(nodeId, { image: 'sandbox-missing:none' })).catch((e: unknown) => e);
    expect(startFailureKind(err)).toBe('image_missing');
    await until('the failed pod removed', async () => (await runtime.list(nodeId)).length === 1, 30_000);
  });

  it('removing the pod loses the sandbox: a run in progress fails with SandboxLostError', async () => {
    const pending = run(sandbox, 'import time\ntime.sleep(30)').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    await runtime.remove(sandbox.containerId);
    expect(await pending).toBeInstanceOf(SandboxLostError);
    expect(sandbox.alive).toBe(false);
    await until('the pod gone', async () => (await runtime.list(nodeId)).length === 0, 60_000);
    // removing what is gone is no error
    await runtime.remove(sandbox.containerId);
  });
});
