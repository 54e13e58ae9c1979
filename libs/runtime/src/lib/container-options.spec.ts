import { type HostConfig } from 'dockerode';
import { containerCreateOptions, memoryBudget, SANDBOX_UID, SHM_BYTES } from './container-options';
import { EGRESS_NETWORK } from './egress-network';
import { LABELS, type SandboxSpec } from './container-runtime';

const spec: SandboxSpec = {
  image: 'sandbox/python-basic:1',
  templateId: 'python-basic',
  nodeId: 'node-1',
  sessionId: 'sess-1',
  nanoCpus: 5e8,
  memoryBytes: 512 << 20,
  diskBytes: 256 << 20,
  tmpBytes: 64 << 20,
  pidsLimit: 128,
  nofile: 256,
  fsizeBytes: 1 << 30,
  network: false,
  inodes: 100_000,
};

describe('containerCreateOptions', () => {
  const options = containerCreateOptions(spec, 'sandbox-abc');
  const host = options.HostConfig as HostConfig & { CgroupnsMode?: string };

  it('names the container and uses the spec image with /workspace as working directory', () => {
    expect(options.name).toBe('sandbox-abc');
    expect(options.Image).toBe('sandbox/python-basic:1');
    expect(options.WorkingDir).toBe('/workspace');
  });

  it('starts init and the executor as root, which run every program as the sandbox user 1000', () => {
    expect(SANDBOX_UID).toBe(1000);
    expect(options.User).toBe('0:0');
    expect(host.Privileged).toBe(false);
  });

  it('drops every capability but the three the executor needs to start programs, and forbids new privileges', () => {
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd).toEqual(['SETUID', 'SETGID', 'KILL']);
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
  });

  it('has no network', () => {
    expect(host.NetworkMode).toBe('none');
    expect(options.NetworkDisabled).toBe(true);
    expect(options.ExposedPorts).toBeUndefined();
    expect(host.PortBindings).toBeUndefined();
  });

  it('has a read-only root with size-capped tmpfs for /workspace and /tmp only', () => {
    expect(host.ReadonlyRootfs).toBe(true);
    expect(Object.keys(host.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/workspace']);
    expect(host.Tmpfs!['/workspace']).toContain(`size=${spec.diskBytes}`);
    expect(host.Tmpfs!['/tmp']).toContain(`size=${spec.tmpBytes}`);
  });

  it('mounts both tmpfs nosuid and nodev, owned by the sandbox user, /tmp noexec', () => {
    for (const mount of Object.values(host.Tmpfs!)) {
      const flags = mount.split(',');
      expect(flags).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'uid=1000', 'gid=1000']));
    }
    expect(host.Tmpfs!['/tmp']!.split(',')).toEqual(expect.arrayContaining(['noexec', 'mode=1777']));
    expect(host.Tmpfs!['/workspace']!.split(',')).not.toContain('noexec');
  });

  it('mounts nothing from the host', () => {
    expect(host.Binds).toBeUndefined();
    expect(host.Mounts).toBeUndefined();
    expect(host.Devices).toBeUndefined();
    expect(host.VolumesFrom).toBeUndefined();
    expect(options.Volumes).toBeUndefined();
  });

  it('limits pids, memory (without swap) and CPU from the spec', () => {
    expect(host.PidsLimit).toBe(128);
    // the program's memory plus the tmpfs mounts whose pages count against the same cgroup
    expect(host.Memory).toBe((512 << 20) + (256 << 20) + (64 << 20) + SHM_BYTES);
    expect(memoryBudget(spec)).toBe(host.Memory);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(5e8);
  });

  it('gives a network-enabled spec the filtered egress network only', () => {
    const networked = containerCreateOptions({ ...spec, network: true }, 'n');
    expect(networked.HostConfig!.NetworkMode).toBe(EGRESS_NETWORK);
    expect(networked.NetworkDisabled).toBe(false);
    expect(networked.HostConfig!.PortBindings).toBeUndefined();
  });

  it('sets nofile and fsize ulimits from the spec and disables core dumps', () => {
    expect(host.Ulimits).toEqual(
      expect.arrayContaining([
        { Name: 'nofile', Soft: 256, Hard: 256 },
        { Name: 'fsize', Soft: 1 << 30, Hard: 1 << 30 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ]),
    );
    expect(host.Ulimits).toHaveLength(3);
  });

  it('runs an init, in private IPC and cgroup namespaces, without logs or restarts', () => {
    expect(host.Init).toBe(true);
    expect(host.IpcMode).toBe('private');
    expect(host.CgroupnsMode).toBe('private');
    expect(host.PidMode).toBeUndefined();
    expect(host.LogConfig).toEqual({ Type: 'none', Config: {} });
    expect(host.RestartPolicy).toEqual({ Name: 'no' });
  });

  it('removes itself once its executor exits', () => {
    expect(host.AutoRemove).toBe(true);
  });

  it('labels the container with its node, template and session', () => {
    expect(options.Labels).toEqual({
      [LABELS.managed]: 'true',
      'sandbox.node': 'node-1',
      'sandbox.template': 'python-basic',
      'sandbox.session': 'sess-1',
    });
  });

  it('labels a warm pool container with an empty session', () => {
    const { sessionId: _sessionId, ...pool } = spec;
    expect(containerCreateOptions(pool, 'pool-1').Labels).toMatchObject({ 'sandbox.session': '' });
  });

  it('passes only LANG, HOME, PATH and TMPDIR into the environment', () => {
    expect(options.Env).toEqual(['LANG=C.UTF-8', 'HOME=/workspace', 'PATH=/usr/local/bin:/usr/bin:/bin', 'TMPDIR=/tmp']);
    expect(options.Env!.map((v) => v.split('=')[0]).sort()).toEqual(['HOME', 'LANG', 'PATH', 'TMPDIR']);
  });

  it('tells the executor its orphan bound when there is one', () => {
    expect(containerCreateOptions(spec, 'o', 600).Env).toEqual([...options.Env!, 'SANDBOX_ORPHAN_AFTER_S=600']);
  });

  it('attaches stdin without a TTY and keeps it open across re-attaches', () => {
    expect(options).toMatchObject({ AttachStdin: true, OpenStdin: true, StdinOnce: false, Tty: false });
  });

  it('follows a different spec', () => {
    const other = containerCreateOptions({ ...spec, nanoCpus: 2e9, memoryBytes: 1 << 30, pidsLimit: 64, diskBytes: 1 << 20 }, 'x');
    const otherHost = other.HostConfig!;
    expect(otherHost.NanoCpus).toBe(2e9);
    expect(otherHost.Memory).toBe((1 << 30) + (1 << 20) + (64 << 20) + SHM_BYTES);
    expect(otherHost.MemorySwap).toBe(otherHost.Memory);
    expect(otherHost.PidsLimit).toBe(64);
    expect(otherHost.Tmpfs!['/workspace']).toContain(`size=${1 << 20},`);
  });
});
