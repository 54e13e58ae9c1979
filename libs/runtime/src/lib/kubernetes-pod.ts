import { type V1Pod } from '@kubernetes/client-node';
import { EXECUTOR_CAPS, memoryBudget, SANDBOX_UID, SHM_BYTES } from './container-options';
import { LABELS, type SandboxSpec } from './container-runtime';

/** The label a template that allows the network gives its pods: k8s/'s NetworkPolicy lets them out. */
export const EGRESS_LABEL = 'sandbox.dev/egress';
export const SANDBOX_CONTAINER = 'sandbox';
export const CPU_OVERCOMMIT = 8;
const QUANTITY_SUFFIXES: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes resource quantity ("250m", "1.5", "24312844Ki", "1e9") as a number of units. */
export function quantity(q: string): number {
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  const scale = m ? QUANTITY_SUFFIXES[m[2]!] : undefined;
  if (!m || scale === undefined) throw new Error(`'${q}' is not a Kubernetes quantity`);
  return Number(m[1]) * scale;
}

/** A label value of a node id (at most 63 characters of [A-Za-z0-9._-]): the node's name is one. */
export function labelValue(v: string): string {
  return v.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
}

/**
 * The hardened container of containerCreateOptions as a pod (DESIGN.md §4): the executor as root with
 * the three capabilities it needs to drop every program to the sandbox user, nothing else; no privilege
 * escalation, the RuntimeDefault seccomp profile, a read-only root with size-capped memory volumes as
 * the only writable paths (their pages count against the memory limit, as Docker's tmpfs do), CPU and
 * memory limits (memory requested whole, CPU an eighth), no service-account token, no service links, the pause container
 * as init (shared process namespace) to reap what programs leave. Pinned to the agent's node: no
 * scheduler decides where it runs. Kubernetes has no per-pod ulimits: the executor sets the spec's
 * nofile, fsize and core limits on itself (SANDBOX_RLIMITS), so every program inherits them. Nor has it a
 * per-pod pids limit: the kubelet's podPidsLimit (the same for every pod of the node) holds a fork bomb.
 */
export function sandboxPod(spec: SandboxSpec, name: string, k8sNode: string, runtimeClassName?: string, orphanAfterSeconds?: number): V1Pod {
  const memory = (bytes: number) => ({ medium: 'Memory', sizeLimit: String(bytes) });
  const cpuMillis = Math.max(1, Math.round(spec.nanoCpus / 1e6));
  const memoryBytes = String(memoryBudget(spec));
  // memory is requested whole (it cannot be taken back); CPU limits overcommit the node as the agent's
  // budget does (AGENT_CPUS: 8 per core), so a sandbox requests an eighth of its limit
  const resources = { requests: { cpu: `${Math.max(1, Math.floor(cpuMillis / CPU_OVERCOMMIT))}m`, memory: memoryBytes }, limits: { cpu: `${cpuMillis}m`, memory: memoryBytes } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: {
        [LABELS.managed]: 'true',
        [LABELS.node]: labelValue(spec.nodeId),
        [LABELS.template]: labelValue(spec.templateId),
        [LABELS.session]: spec.sessionId ?? '',
        ...(spec.network ? { [EGRESS_LABEL]: 'allowed' } : {}),
      },
    },
    spec: {
      nodeName: k8sNode,
      ...(runtimeClassName ? { runtimeClassName } : {}),
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      shareProcessNamespace: true,
      terminationGracePeriodSeconds: 1,
      // no network: no DNS either (the namespace's NetworkPolicies drop everything else)
      ...(spec.network ? {} : { dnsPolicy: 'None', dnsConfig: { nameservers: ['127.0.0.1'] } }),
      securityContext: { seccompProfile: { type: 'RuntimeDefault' }, fsGroup: SANDBOX_UID },
      volumes: [
        { name: 'workspace', emptyDir: memory(spec.diskBytes) },
        { name: 'tmp', emptyDir: memory(spec.tmpBytes) },
        { name: 'shm', emptyDir: memory(SHM_BYTES) },
      ],
      containers: [
        {
          name: SANDBOX_CONTAINER,
          image: spec.image,
          imagePullPolicy: 'IfNotPresent',
          // the executor's channel: the agent attaches to its stdin and stdout
          stdin: true,
          stdinOnce: false,
          tty: false,
          workingDir: '/workspace',
          env: [
            { name: 'LANG', value: 'C.UTF-8' },
            { name: 'HOME', value: '/workspace' },
            { name: 'PATH', value: '/usr/local/bin:/usr/bin:/bin' },
            { name: 'TMPDIR', value: '/tmp' },
            { name: 'SANDBOX_RLIMITS', value: `nofile=${spec.nofile},fsize=${spec.fsizeBytes},core=0` },
            ...(orphanAfterSeconds ? [{ name: 'SANDBOX_ORPHAN_AFTER_S', value: String(orphanAfterSeconds) }] : []),
          ],
          resources,
          securityContext: {
            // root for the executor only: every program runs as SANDBOX_UID (docker/sandbox/executor)
            runAsUser: 0,
            runAsGroup: 0,
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'], add: EXECUTOR_CAPS },
          },
          volumeMounts: [
            { name: 'workspace', mountPath: '/workspace' },
            { name: 'tmp', mountPath: '/tmp' },
            { name: 'shm', mountPath: '/dev/shm' },
          ],
        },
      ],
    },
  };
}
