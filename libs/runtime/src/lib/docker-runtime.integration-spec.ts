import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type RunRequest, type Sandbox, SandboxLostError, type SandboxSpec } from './container-runtime';
import { DockerRuntime } from './docker-runtime';

const nodeId = `itest-${randomBytes(3).toString('hex')}`;
const runtime = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 3000 });
const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  image: 'sandbox-python:3.11-basic',
  templateId: 'python-basic',
  nodeId,
  nanoCpus: 1e9,
  memoryBytes: 256 << 20,
  diskBytes: 64 << 20,
  tmpBytes: 16 << 20,
  pidsLimit: 64,
  nofile: 256,
  fsizeBytes: 32 << 20,
  ...over,
});
let seq = 0;
const run = (sandbox: Sandbox, code: string, over: Partial<RunRequest> = {}) =>
  sandbox.run({ id: `r${++seq}`, language: 'python', code, timeoutMs: 10_000, maxOutputBytes: 1 << 20, ...over });

describe('DockerRuntime on the real engine', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await runtime.create(spec());
  });

  afterAll(async () => {
    for (const c of await runtime.list(nodeId)) await runtime.remove(c.containerId);
  });

  it('runs python through the executor and reports exit codes and both streams', async () => {
    const r = await run(sandbox, 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nsys.exit(3)');
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr.toString()).toBe('err\n');
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
  });

  it('starts the container hardened (reliability.md §1.2)', async () => {
    const info = await runtime.docker.getContainer(sandbox.containerId).inspect();
    const hc = info.HostConfig;
    expect(info.Config.User).toBe('1000:1000');
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(hc.Privileged).toBe(false);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.NetworkMode).toBe('none');
    expect(hc.PidsLimit).toBe(64);
    expect(hc.Memory).toBe(256 << 20);
    expect(hc.MemorySwap).toBe(256 << 20);
    expect(hc.NanoCpus).toBe(1e9);
    expect(hc.Init).toBe(true);
    expect(hc.IpcMode).toBe('private');
    expect(Object.keys(hc.Tmpfs ?? {}).sort()).toEqual(['/tmp', '/workspace']);
    expect(info.Config.Labels).toMatchObject({ 'sandbox.node': nodeId, 'sandbox.template': 'python-basic' });

    const r = await run(
      sandbox,
      [
        'import os, resource',
        'status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
        'print(os.getuid(), status["CapEff"].strip(), status["CapBnd"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip())',
        'print(sorted(os.listdir("/sys/class/net")))',
        'print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0])',
        'try:\n  open("/usr/lib/x", "w")\nexcept OSError as e:\n  print(e.errno)',
      ].join('\n'),
    );
    expect(r.stdout.toString().split('\n')).toEqual([
      '1000 0000000000000000 0000000000000000 1 2',
      "['lo']",
      `256 ${32 << 20}`,
      '30', // EROFS
      '',
    ]);
  });

  it('runs javascript in the node template', async () => {
    const node = await runtime.create(spec({ image: 'sandbox-nodejs:20-basic', templateId: 'nodejs-basic' }));
    const r = await run(node, 'console.log(process.version, 6 * 7)', { language: 'javascript' });
    expect(r.stdout.toString()).toMatch(/^v20\.\d+\.\d+ 42\n$/);
    expect(r.exitCode).toBe(0);
  });

  it('kills a program at its wall-time limit, and nothing it started survives into the next run', async () => {
    const r = await run(sandbox, 'import subprocess, time\nsubprocess.Popen(["sleep", "300"], start_new_session=True)\ntime.sleep(60)', {
      timeoutMs: 1500,
    });
    expect(r.timedOut).toBe(true);
    expect(r.wallMs).toBeGreaterThanOrEqual(1500);
    const ps = await run(sandbox, 'import os\nprint(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))');
    const pids = JSON.parse(ps.stdout.toString()) as number[];
    // tini (1), the executor, and the program listing /proc
    expect(pids).toHaveLength(3);
  });

  it('keeps at most the output cap and stops the program', async () => {
    const r = await run(sandbox, 'while True: print("x" * 1000)', { maxOutputBytes: 4096 });
    expect(r.outputLimited).toBe(true);
    expect(r.stdout.length).toBe(4096);
    expect(r.stdoutBytes).toBeGreaterThan(4096);
  });

  it('reports a killed container as lost, to the run in flight and to listeners', async () => {
    const victim = await runtime.create(spec());
    const lost = new Promise<string>((resolve) => victim.onLost(resolve));
    const running = run(victim, 'import time\ntime.sleep(30)');
    await new Promise((r) => setTimeout(r, 300));
    execFileSync('docker', ['kill', victim.containerId]);
    await expect(running).rejects.toBeInstanceOf(SandboxLostError);
    expect(await lost).toMatch(/exited/);
    expect(victim.alive).toBe(false);
  });

  it('re-attaches to a sandbox after detaching, with its workspace intact', async () => {
    await run(sandbox, 'open("/workspace/keep.txt", "w").write("kept")');
    sandbox.detach();
    sandbox = await runtime.reattach(sandbox.containerId, 'python-basic');
    const r = await run(sandbox, 'print(open("/workspace/keep.txt").read())');
    expect(r.stdout.toString()).toBe('kept\n');
  });
});
