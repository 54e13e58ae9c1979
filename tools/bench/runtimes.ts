// The two container runtimes on this machine, in one run: a sandbox started (create until its executor
// answers) and a warm execution (`print(1)` in a running sandbox, the path of every execution after the
// first), on Docker (attach over the engine's socket) and on Kubernetes (a pod on the local cluster of
// tools/k8s-up.sh, attach through the API server). Docker is the baseline of the ratios.
// Usage: npm run bench:runtimes   (writes tools/bench/results/runtimes.json)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ContainerRuntime, DockerRuntime, KubernetesRuntime } from '@sandbox/runtime';
import { LOCAL_CLUSTER, loadImageIntoCluster, localClusterNode, REPO_ROOT, startLocalCluster, stopLocalCluster, testSandboxSpec } from '@sandbox/testing';

const STARTS = 5;
const RUNS = 50;
const NAMESPACE = `bench-${randomBytes(3).toString('hex')}`;
const nodeId = `bench-${randomBytes(3).toString('hex')}`;

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const ms = (x: number) => Math.round(x * 10) / 10;

async function measure(runtime: ContainerRuntime): Promise<{ start_p50_ms: number; warm_p50_ms: number; warm_p95_ms: number }> {
  const starts: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = performance.now();
    const s = await runtime.create(testSandboxSpec(nodeId));
    starts.push(performance.now() - t0);
    await runtime.remove(s.containerId);
  }
  const sandbox = await runtime.create(testSandboxSpec(nodeId));
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = await sandbox.run({ id: `b${i}`, language: 'python', code: 'print(1)', timeoutMs: 10_000, maxOutputBytes: 1 << 16 });
    runs.push(performance.now() - t0);
    if (r.stdout.toString() !== '1\n') throw new Error(`unexpected output: ${r.stdout.toString()}`);
  }
  await runtime.remove(sandbox.containerId);
  return { start_p50_ms: ms(quantile(starts, 0.5)), warm_p50_ms: ms(quantile(runs, 0.5)), warm_p95_ms: ms(quantile(runs, 0.95)) };
}

async function main(): Promise<void> {
  await startLocalCluster();
  await loadImageIntoCluster('sandbox-python:3.11-basic');
  const kubectl = (...args: string[]) => execFileSync(LOCAL_CLUSTER.kubectl, ['--kubeconfig', LOCAL_CLUSTER.kubeconfig, ...args]);
  kubectl('create', 'namespace', NAMESPACE);
  try {
    const docker = await measure(new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 5000 }));
    const kubernetes = await measure(new KubernetesRuntime({ namespace: NAMESPACE, k8sNode: await localClusterNode(), executorGraceMs: 5000, kubeconfigFile: LOCAL_CLUSTER.kubeconfig }));
    const ratio = (k: keyof typeof docker) => Math.round((kubernetes[k] / docker[k]) * 100) / 100;
    const result = {
      date: new Date().toISOString(),
      starts: STARTS,
      runs: RUNS,
      docker,
      kubernetes,
      kubernetes_vs_docker: { start_p50: ratio('start_p50_ms'), warm_p50: ratio('warm_p50_ms'), warm_p95: ratio('warm_p95_ms') },
    };
    writeFileSync(join(REPO_ROOT, 'tools/bench/results/runtimes.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    kubectl('delete', 'namespace', NAMESPACE, '--wait=false');
    await stopLocalCluster();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
