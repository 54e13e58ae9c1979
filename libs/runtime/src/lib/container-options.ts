import { type ContainerCreateOptions, type HostConfig } from 'dockerode';
import { LABELS, type SandboxSpec } from './container-runtime';
import { EGRESS_NETWORK } from './egress-network';

export const SANDBOX_UID = 1000;
const MiB = 1 << 20;
export const SHM_BYTES = 16 * MiB;
const TMP_INODES = 10_000;

/**
 * The container's memory limit. Its writable paths are tmpfs, whose pages count against it: so the
 * program's memory, the workspace, /tmp and /dev/shm each get their own budget inside one limit, and
 * filling the workspace ends in ENOSPC, not in the out-of-memory killer.
 */
export function memoryBudget(spec: Pick<SandboxSpec, 'memoryBytes' | 'diskBytes' | 'tmpBytes'>): number {
  return spec.memoryBytes + spec.diskBytes + spec.tmpBytes + SHM_BYTES;
}

/**
 * The only capabilities of the container's root: the executor (root, like init) drops each program to
 * the sandbox user and kills whatever it leaves. Programs then hold no capability at all, and a uid
 * other than the processes whose stdio is the agent's channel.
 */
export const EXECUTOR_CAPS = ['SETUID', 'SETGID', 'KILL'];

/**
 * The hardened container of reliability.md §1.2: programs as the unprivileged sandbox user, no
 * capabilities (the executor keeps the three it needs to start them, see EXECUTOR_CAPS), no new
 * privileges, no network (or only the filtered egress network when the template allows it), read-only
 * root with size-capped tmpfs for the only writable paths, pids/memory/CPU limits with no swap,
 * ulimits, its own IPC namespace, an init that reaps zombies, and no logs (PID 1 output would otherwise
 * fill the host disk). Nothing of the agent's environment goes in. With `orphanAfterSeconds`, the
 * executor exits when no agent spoke to it for that long, and Docker then removes the container.
 */
export function containerCreateOptions(spec: SandboxSpec, name: string, orphanAfterSeconds?: number): ContainerCreateOptions {
  // nr_inodes: a million empty files end in ENOSPC, not in memory spent on inodes
  const tmpfs = (bytes: number, inodes: number, mode: string, extra = '') =>
    `rw,nosuid,nodev${extra},size=${bytes},nr_inodes=${inodes},uid=${SANDBOX_UID},gid=${SANDBOX_UID},mode=${mode}`;
  // CgroupnsMode is in the Engine API (1.41) but not in @types/dockerode
  const hostConfig: HostConfig & { CgroupnsMode: 'private' } = {
    NetworkMode: spec.network ? EGRESS_NETWORK : 'none',
    CapDrop: ['ALL'],
    CapAdd: EXECUTOR_CAPS,
    SecurityOpt: ['no-new-privileges:true'],
    Privileged: false,
    ReadonlyRootfs: true,
    Tmpfs: {
      '/workspace': tmpfs(spec.diskBytes, spec.inodes, '0755'),
      '/tmp': tmpfs(spec.tmpBytes, TMP_INODES, '1777', ',noexec'),
    },
    PidsLimit: spec.pidsLimit,
    Memory: memoryBudget(spec),
    // equal to Memory: no swap, so the memory limit is the limit
    MemorySwap: memoryBudget(spec),
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
    ShmSize: SHM_BYTES,
    CgroupnsMode: 'private',
    LogConfig: { Type: 'none', Config: {} },
    RestartPolicy: { Name: 'no' },
    // a container whose executor exited (orphaned, killed) goes at once, whether an agent is left or not
    AutoRemove: true,
  };
  return {
    name,
    Image: spec.image,
    // root for init and the executor only: every program runs as SANDBOX_UID (docker/sandbox/executor)
    User: '0:0',
    WorkingDir: '/workspace',
    Env: [
      'LANG=C.UTF-8',
      'HOME=/workspace',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'TMPDIR=/tmp',
      ...(orphanAfterSeconds ? [`SANDBOX_ORPHAN_AFTER_S=${orphanAfterSeconds}`] : []),
    ],
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
    NetworkDisabled: !spec.network,
    StopTimeout: 1,
    HostConfig: hostConfig,
  };
}
