import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './stack';

const run = promisify(execFile);

/** The single-node cluster of tools/k8s-up.sh: its state, admin kubeconfig and node containerd. */
export const LOCAL_CLUSTER = {
  dir: join(REPO_ROOT, '.stack/k8s'),
  kubeconfig: join(REPO_ROOT, '.stack/k8s/admin.kubeconfig'),
  kubectl: join(REPO_ROOT, '.stack/k8s/bin/kubectl'),
  containerdSocket: join(REPO_ROOT, '.stack/k8s/containerd/containerd.sock'),
} as const;

/** Starts the cluster (the first time, builds it: a long while on two cores). */
export async function startLocalCluster(): Promise<void> {
  await run('bash', [join(REPO_ROOT, 'tools/k8s-up.sh')], { timeout: 3_000_000, maxBuffer: 16 << 20 });
}

/** Stops the cluster, its pods included (a benchmark leaves the machine as it found it). */
export async function stopLocalCluster(): Promise<void> {
  await run('bash', [join(REPO_ROOT, 'tools/k8s-up.sh'), 'down'], { timeout: 120_000, maxBuffer: 16 << 20 });
}

/** No registry here: the node's containerd gets the image from Docker. */
export async function loadImageIntoCluster(image: string): Promise<void> {
  await run('bash', ['-c', 'docker save "$1" | ctr -a "$0" -n k8s.io images import -', LOCAL_CLUSTER.containerdSocket, image], { maxBuffer: 16 << 20, timeout: 300_000 });
}

/** kubectl as the cluster's admin; its standard output. */
export async function kubectl(...args: string[]): Promise<string> {
  return (await run(LOCAL_CLUSTER.kubectl, ['--kubeconfig', LOCAL_CLUSTER.kubeconfig, ...args], { maxBuffer: 64 << 20 })).stdout;
}

/** The node's name (the cluster has one). */
export async function localClusterNode(): Promise<string> {
  return (await kubectl('get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
}

/**
 * Readies the cluster for agents of the kubernetes runtime (started and built, the image loaded, the
 * namespace made); their environment. The budget follows the node's allocatable unless `env` sets one.
 */
export async function kubernetesAgentEnv(namespace: string, image = 'sandbox-python:3.11-basic'): Promise<Record<string, string>> {
  await startLocalCluster();
  await loadImageIntoCluster(image);
  await kubectl('create', 'namespace', namespace);
  return { RUNTIME_MODE: 'kubernetes', KUBECONFIG: LOCAL_CLUSTER.kubeconfig, K8S_NODE_NAME: await localClusterNode(), SANDBOX_NAMESPACE: namespace, AGENT_CPUS: '0', AGENT_MEMORY_BYTES: '0' };
}
