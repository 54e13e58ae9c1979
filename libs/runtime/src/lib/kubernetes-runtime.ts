import { randomBytes } from 'node:crypto';
import { type Footprint } from '@sandbox/domain';
import { Duplex, PassThrough } from 'node:stream';
import { ApiException, Attach, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { type ContainerRuntime, LABELS, type Sandbox, type SandboxInfo, type SandboxSpec } from './container-runtime';
import { answering, ExecutorClient } from './executor-client';
import { CPU_OVERCOMMIT, labelValue, quantity, SANDBOX_CONTAINER, sandboxPod } from './kubernetes-pod';

export interface KubernetesRuntimeOptions {
  /** The namespace of the sandbox pods (k8s/: sandbox-sandboxes). */
  readonly namespace: string;
  /** The Kubernetes node this agent runs on: its sandboxes are pinned there. */
  readonly k8sNode: string;
  /** Time an executor gets beyond a run's wall-time limit before its sandbox is declared lost. */
  readonly executorGraceMs: number;
  /** Time a new pod gets to run and answer. */
  readonly readyTimeoutMs?: number;
  /** As DockerRuntimeOptions.orphanAfterSeconds: the executor exits, and the sweep removes its pod. */
  readonly orphanAfterSeconds?: number;
  /** A RuntimeClass for every sandbox pod (e.g. gVisor), when the cluster has one. */
  readonly runtimeClassName?: string;
  /** A kubeconfig file; unset: in the cluster, the pod's service account; outside, $KUBECONFIG or ~/.kube/config. */
  readonly kubeconfigFile?: string;
}

/**
 * ContainerRuntime on the Kubernetes API: each sandbox a pod on this agent's node, its executor reached
 * by attaching to the pod's stdin and stdout through the API server (no exec, no port). There is no
 * `docker pause` for a pod: a frozen sandbox is left to the run's lease, which stops every process of
 * the run at the same fence deadline (executor SIGSTOP), whether or not this agent can act.
 */
export class KubernetesRuntime implements ContainerRuntime {
  private readonly kc: KubeConfig;
  private readonly api: CoreV1Api;

  constructor(private readonly options: KubernetesRuntimeOptions) {
    this.kc = new KubeConfig();
    if (options.kubeconfigFile) this.kc.loadFromFile(options.kubeconfigFile);
    else this.kc.loadFromDefault();
    this.api = this.kc.makeApiClient(CoreV1Api);
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    // a DNS label: lower-case letters, digits and dashes
    const name = `sandbox-${spec.nodeId.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 36)}-${randomBytes(6).toString('hex')}`;
    const pod = sandboxPod(spec, name, this.options.k8sNode, this.options.runtimeClassName, this.options.orphanAfterSeconds);
    await this.api.createNamespacedPod({ namespace: this.options.namespace, body: pod });
    try {
      await this.running(name, this.options.readyTimeoutMs ?? 60_000);
      // the executor's `ready` went out before anyone could attach: it answers a ping instead
      return await answering(await this.attach(name, spec.templateId), this.options.readyTimeoutMs ?? 15_000, this.options.orphanAfterSeconds);
    } catch (e) {
      await this.remove(name);
      throw e;
    }
  }

  async reattach(containerId: string, templateId: string): Promise<Sandbox> {
    return answering(await this.attach(containerId, templateId), 5000, this.options.orphanAfterSeconds);
  }

  async list(nodeId: string): Promise<SandboxInfo[]> {
    const { items } = await this.api.listNamespacedPod({
      namespace: this.options.namespace,
      labelSelector: `${LABELS.managed}=true,${LABELS.node}=${labelValue(nodeId)}`,
    });
    return items.map((p) => ({
      containerId: p.metadata!.name!,
      name: p.metadata!.name!,
      labels: p.metadata!.labels ?? {},
      running: p.status?.phase === 'Running',
      createdAt: Math.floor((p.metadata!.creationTimestamp?.getTime() ?? Date.now()) / 1000),
    }));
  }

  async assign(containerId: string, sessionId: string): Promise<void> {
    // unlike a container's, a pod's labels change: the session's own label says whose it is
    await this.api.patchNamespacedPod(
      { name: containerId, namespace: this.options.namespace, body: { metadata: { labels: { [LABELS.session]: sessionId } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async remove(containerId: string): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({ name: containerId, namespace: this.options.namespace, gracePeriodSeconds: 0 });
    } catch (e) {
      // already gone
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  }

  /**
   * The node's allocatable memory and CPU less what every other pod on it requests (the platform's own,
   * other tenants'), in the terms of sandbox limits: memory is requested whole, CPU at 1/CPU_OVERCOMMIT
   * of the limit. What the kubelet would refuse (OutOfcpu, OutOfmemory) never reaches it.
   */
  async allocatable(nodeId: string): Promise<Footprint> {
    const k8sNode = this.options.k8sNode;
    const [node, pods] = await Promise.all([
      this.api.readNode({ name: k8sNode }),
      this.api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${k8sNode},status.phase!=Succeeded,status.phase!=Failed` }),
    ]);
    const mine = (p: V1Pod) => p.metadata?.labels?.[LABELS.managed] === 'true' && p.metadata.labels[LABELS.node] === labelValue(nodeId);
    let memory = quantity(node.status?.allocatable?.['memory'] ?? '0');
    let cpu = quantity(node.status?.allocatable?.['cpu'] ?? '0');
    for (const container of pods.items.filter((p) => !mine(p)).flatMap((p) => p.spec?.containers ?? [])) {
      memory -= quantity(container.resources?.requests?.['memory'] ?? '0');
      cpu -= quantity(container.resources?.requests?.['cpu'] ?? '0');
    }
    return { memoryBytes: Math.max(0, Math.floor(memory)), cpuNanos: Math.max(0, Math.round(cpu * CPU_OVERCOMMIT * 1e9)) };
  }

  /** Until the pod runs; a pod that cannot (image missing, failed) is an error that says why. */
  private async running(name: string, timeoutMs: number): Promise<V1Pod> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pod = await this.api.readNamespacedPod({ name, namespace: this.options.namespace });
      if (pod.status?.phase === 'Running') return pod;
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting && /ErrImageNeverPull|ErrImagePull|ImagePullBackOff|InvalidImageName/.test(waiting.reason ?? '')) {
        // what startFailureKind reads as `image_missing`: retrying cannot help
        throw Object.assign(new Error(`image ${pod.spec?.containers[0]?.image} is not on node ${this.options.k8sNode}: ${waiting.reason}`), { statusCode: 404 });
      }
      if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') throw new Error(`sandbox pod ${name} ended before it ran: ${pod.status.reason ?? pod.status.phase}`);
      if (Date.now() > deadline) throw Object.assign(new Error(`sandbox pod ${name} did not run within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The pod's stdin and stdout through the API server, as the stream the executor client speaks over. */
  private async attach(name: string, templateId: string): Promise<ExecutorClient> {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stream = new Duplex({
      write: (chunk: Buffer, _enc, done) => stdin.write(chunk, done),
      read: () => undefined,
    });
    const socket = await new Attach(this.kc).attach(this.options.namespace, name, SANDBOX_CONTAINER, stdout, stderr, stdin, false);
    socket.on('close', () => stream.destroy());
    socket.on('error', (e: Error) => stream.destroy(e));
    stream.on('close', () => socket.close());
    const demux = (_s: Duplex, out: PassThrough, err: PassThrough) => {
      stdout.pipe(out);
      stderr.pipe(err);
    };
    // nothing to pause: the lease stops the run (see the class comment)
    return new ExecutorClient(name, templateId, stream, demux, this.options.executorGraceMs, async () => undefined);
  }
}
