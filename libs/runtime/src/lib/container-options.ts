import { type ContainerCreateOptions, type HostConfig } from 'dockerode';
import { LABELS, type SandboxSpec } from './container-runtime';

export const SANDBOX_UID = 1000;
const MiB = 1 << 20;

/**
 * The hardened container of reliability.md §1.2: non-root, no capabilities, no new privileges,
 * no network, read-only root with size-capped tmpfs for the only writable paths, pids/memory/CPU
 * limits with no swap, ulimits, its own IPC namespace, an init that reaps zombies, and no logs
 * (PID 1 output would otherwise fill the host disk). Nothing of the agent's environment goes in.
 */
export function containerCreateOptions(spec: SandboxSpec, name: string): ContainerCreateOptions {
  const tmpfs = (bytes: number, mode: string, extra = '') =>
    `rw,nosuid,nodev${extra},size=${bytes},uid=${SANDBOX_UID},gid=${SANDBOX_UID},mode=${mode}`;
  // CgroupnsMode is in the Engine API (1.41) but not in @types/dockerode
  const hostConfig: HostConfig & { CgroupnsMode: 'private' } = {
    NetworkMode: 'none',
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges:true'],
    Privileged: false,
    ReadonlyRootfs: true,
    Tmpfs: {
      '/workspace': tmpfs(spec.diskBytes, '0755'),
      '/tmp': tmpfs(spec.tmpBytes, '1777', ',noexec'),
    },
    PidsLimit: spec.pidsLimit,
    Memory: spec.memoryBytes,
    // equal to Memory: no swap, so the memory limit is the limit
    MemorySwap: spec.memoryBytes,
    NanoCpus: spec.nanoCpus,
    // sandboxes go before the agent and the database when the host runs out of memory
    OomScoreAdj: 500,
    Ulimits: [
      { Name: 'nofile', Soft: spec.nofile, Hard: spec.nofile },
      { Name: 'fsize', Soft: spec.fsizeBytes, Hard: spec.fsizeBytes },
      { Name: 'core', Soft: 0, Hard: 0 },
    ],
    Init: true,
    IpcMode: 'private',
    ShmSize: 16 * MiB,
    CgroupnsMode: 'private',
    LogConfig: { Type: 'none', Config: {} },
    RestartPolicy: { Name: 'no' },
    AutoRemove: false,
  };
  return {
    name,
    Image: spec.image,
    User: `${SANDBOX_UID}:${SANDBOX_UID}`,
    WorkingDir: '/workspace',
    Env: ['LANG=C.UTF-8', 'HOME=/workspace', 'PATH=/usr/local/bin:/usr/bin:/bin', 'TMPDIR=/tmp'],
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.node]: spec.nodeId,
      [LABELS.template]: spec.templateId,
      [LABELS.session]: spec.sessionId ?? '',
    },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    // the agent may re-attach after a restart: detaching must not close the executor's stdin
    StdinOnce: false,
    Tty: false,
    NetworkDisabled: true,
    StopTimeout: 1,
    HostConfig: hostConfig,
  };
}
