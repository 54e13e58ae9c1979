import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { testSandboxSpec } from '@sandbox/testing';
import { type ReadResult, type RunRequest, type Sandbox, SandboxLostError, type SandboxSpec } from './container-runtime';
import { DockerRuntime } from './docker-runtime';

const nodeId = `itest-${randomBytes(3).toString('hex')}`;
const runtime = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 3000 });
const spec = (over: Partial<SandboxSpec> = {}) => testSandboxSpec(nodeId, over);
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
    expect(hc.Memory).toBe((256 << 20) + (64 << 20) + (16 << 20) + (16 << 20));
    expect(hc.MemorySwap).toBe(hc.Memory);
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
    const running = run(victim, 'import subprocess\nsubprocess.run(["sleep", "30"])');
    // the program itself runs: seen from the host, without entering the container
    for (let i = 0; !execFileSync('docker', ['top', victim.containerId], { encoding: 'utf8' }).includes('sleep 30'); i++) {
      if (i > 100) throw new Error('the program did not start within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
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

  describe('workspace files through the executor', () => {
    const data = (r: ReadResult) => ('data' in r ? r.data : Buffer.from(`error: ${r.error}`));

    it('writes files (parents made) and reads the same bytes back, binary included', async () => {
      const bin = Buffer.from([0, 255, 254, 128, 10, 195, 40, ...Array.from({ length: 5000 }, (_, i) => i % 256)]);
      const wrote = await sandbox.write([
        { path: 'in/deep/bin.dat', offset: 0, data: bin, last: true },
        { path: 'hello.txt', offset: 0, data: Buffer.from('hi'), last: true },
      ]);
      expect(wrote).toEqual([
        { path: 'in/deep/bin.dat', size: bin.length, token: expect.any(String) },
        { path: 'hello.txt', size: 2, token: expect.any(String) },
      ]);
      const [r1, r2] = await sandbox.read([
        { path: 'in/deep/bin.dat', offset: 0, length: bin.length },
        { path: 'hello.txt', offset: 0, length: 100 },
      ]);
      expect(data(r1!).equals(bin)).toBe(true);
      expect(r2).toMatchObject({ size: 2, eof: true });
      const seen = await run(sandbox, 'print(open("in/deep/bin.dat","rb").read()[:4].hex(), open("hello.txt").read())');
      expect(seen.stdout.toString()).toBe('00fffe80 hi\n');
    });

    it('moves a file larger than one request in pieces', async () => {
      const big = Buffer.alloc(9 << 20, 7);
      big.write('end', big.length - 3);
      for (let off = 0; off < big.length; off += 4 << 20) {
        const piece = big.subarray(off, off + (4 << 20));
        await sandbox.write([{ path: 'big.bin', offset: off, data: piece, last: off + piece.length >= big.length }]);
      }
      const parts: Buffer[] = [];
      for (let off = 0, eof = false; !eof; ) {
        const [r] = await sandbox.read([{ path: 'big.bin', offset: off, length: 4 << 20 }]);
        parts.push(data(r!));
        off += data(r!).length;
        eof = 'eof' in r! && r.eof;
      }
      expect(Buffer.concat(parts).equals(big)).toBe(true);
    });

    it('scans every entry with its kind, never following symlinks, and tokens change with writes', async () => {
      await run(sandbox, [
        'import os',
        'os.makedirs("scan/sub", exist_ok=True)',
        'open("scan/sub/f.txt", "w").write("x")',
        'os.symlink("/etc/passwd", "scan/passwd-link")',
        'os.symlink("/", "scan/root-link")',
        'os.mkfifo("scan/fifo")',
        'open(b"scan/bad-\\xff-name", "w").write("y")',
      ].join('\n'));
      const before = await sandbox.scan(1000);
      const scanned = Object.fromEntries(before.entries.filter((e) => e.path.startsWith('scan/')).map((e) => [e.path, e.kind]));
      expect(scanned).toEqual({
        'scan/sub': 'dir',
        'scan/sub/f.txt': 'file',
        'scan/passwd-link': 'symlink',
        'scan/root-link': 'symlink',
        'scan/fifo': 'other',
        'scan/bad-\\xff-name': 'name',
      });
      // nothing below the symlink to / was listed
      expect(before.entries.some((e) => e.path.startsWith('scan/root-link/'))).toBe(false);
      const token = before.entries.find((e) => e.path === 'scan/sub/f.txt')!.token;
      await run(sandbox, 'import os\nst = os.stat("scan/sub/f.txt")\nopen("scan/sub/f.txt", "w").write("z")\nos.utime("scan/sub/f.txt", ns=(st.st_atime_ns, st.st_mtime_ns))');
      const after = await sandbox.scan(1000);
      expect(after.entries.find((e) => e.path === 'scan/sub/f.txt')!.token).not.toBe(token);
    });

    it('stops a scan at its limit and says so', async () => {
      const r = await sandbox.scan(2);
      expect(r.entries).toHaveLength(2);
      expect(r.truncated).toBe(true);
    });

    it('refuses to read or write through symlinks, special files or escaping paths', async () => {
      await run(sandbox, 'import os\nos.makedirs("esc", exist_ok=True)\nos.symlink("/etc", "esc/etc-dir")\nos.symlink("/etc/hostname", "esc/host-link")\nos.mkfifo("esc/pipe")');
      const reads = await sandbox.read(
        ['esc/host-link', 'esc/etc-dir/passwd', 'esc/pipe', '../etc/passwd', '/etc/passwd', 'esc/./x', 'missing'].map((path) => ({ path, offset: 0, length: 100 })),
      );
      for (const r of reads) expect(r).toEqual({ path: r.path, error: expect.any(String) });
      expect(reads.map((r) => ('error' in r ? r.error : '')).slice(0, 4)).toEqual([
        'Too many levels of symbolic links',
        'Not a directory',
        'not a regular file',
        'invalid path',
      ]);
      const writes = await sandbox.write([
        { path: 'esc/host-link', offset: 0, data: Buffer.from('x'), last: true },
        { path: 'esc/etc-dir/evil', offset: 0, data: Buffer.from('x'), last: true },
        { path: '../outside', offset: 0, data: Buffer.from('x'), last: true },
      ]);
      expect(writes.every((w) => w.error)).toBe(true);
      // the symlinks and what they point at are untouched
      const check = await run(sandbox, 'import os\nprint(os.readlink("esc/host-link"), os.path.exists("/etc/evil"))');
      expect(check.stdout.toString()).toBe('/etc/hostname False\n');
    });

    it('removes files and empties the workspace', async () => {
      await sandbox.write([{ path: 'rm/a.txt', offset: 0, data: Buffer.from('a'), last: true }]);
      expect(await sandbox.remove(['rm/a.txt', 'rm/never-there'])).toEqual([]);
      expect((await sandbox.read([{ path: 'rm/a.txt', offset: 0, length: 1 }]))[0]).toMatchObject({ error: expect.any(String) });
      expect(await sandbox.wipe()).toEqual([]);
      expect((await sandbox.scan(100)).entries).toEqual([]);
    });
  });
});
