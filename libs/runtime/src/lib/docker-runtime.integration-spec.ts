import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PROBE_HELPERS, testSandboxSpec } from '@sandbox/testing';
import { containerCreateOptions } from './container-options';
import { type ReadResult, type RunRequest, type Sandbox, SandboxLostError, type SandboxSpec } from './container-runtime';
import { DockerRuntime } from './docker-runtime';

const nodeId = `itest-${randomBytes(3).toString('hex')}`;
const runtime = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 3000 });
const spec = (over: Partial<SandboxSpec> = {}) => testSandboxSpec(nodeId, over);
let seq = 0;
const run = (sandbox: Sandbox, code: string, over: Partial<RunRequest> = {}) =>
  sandbox.run({ id: `r${++seq}`, language: 'python', code, timeoutMs: 10_000, maxOutputBytes: 1 << 20, ...over });

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Seen from the host, without entering the container. */
const programRuns = (sandbox: Sandbox, cmd: string) =>
  until(`${cmd} runs`, () => execFileSync('docker', ['top', sandbox.containerId], { encoding: 'utf8' }).includes(cmd));

const removed = (containerId: string) =>
  until(`container ${containerId} removed`, async () => {
    try {
      await runtime.docker.getContainer(containerId).inspect();
      return false;
    } catch (e) {
      return (e as { statusCode?: number }).statusCode === 404;
    }
  });

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

  it('stops a run past its lease, for as long as no later lease comes, without counting that time', async () => {
    // the agent's fence deadline, on the host's monotonic clock (what the executor reads too)
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    const ticks = 'import time\nfor i in range(20):\n    print(i, flush=True)\n    time.sleep(0.1)';
    const result = run(sandbox, ticks, { timeoutMs: 3000, leaseUntilMs: now() + 300 });
    // stopped well past the whole wall-time limit: it would have finished, or timed out, were it counted
    await new Promise((r) => setTimeout(r, 4000));
    const state = execFileSync('docker', ['top', sandbox.containerId, '-o', 'pid,stat'], { encoding: 'utf8' });
    expect(state.split('\n').filter((l) => /^\s*\d+\s+T/.test(l)).length).toBeGreaterThan(0);
    sandbox.lease(now() + 60_000);
    const r = await result;
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.stdout.toString()).toBe(Array.from({ length: 20 }, (_, i) => `${i}\n`).join(''));
    expect(r.wallMs).toBeLessThan(4000);
  });

  it('starts the container hardened (reliability.md §1.2)', async () => {
    const info = await runtime.docker.getContainer(sandbox.containerId).inspect();
    const hc = info.HostConfig;
    // root for init and the executor, which run every program as the sandbox user
    expect(info.Config.User).toBe('0:0');
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd).toEqual(['SETUID', 'SETGID', 'KILL']);
    expect(hc.AutoRemove).toBe(true);
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
        'print(os.getuid(), os.getgid(), os.getgroups(), *(status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp")))',
        'print(sorted(os.listdir("/sys/class/net")))',
        'print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0])',
        'try:\n  open("/usr/lib/x", "w")\nexcept OSError as e:\n  print(e.errno)',
      ].join('\n'),
    );
    expect(r.stdout.toString().split('\n')).toEqual([
      // no capability (the bounding set keeps the executor's three, which no-new-privileges makes unreachable)
      '1000 1000 [] 0000000000000000 0000000000000000 00000000000000e0 1 2',
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

  it('streams the output as it comes, in order, the pieces joined being the report\'s bytes', async () => {
    const heard: { stream: string; chunk: Buffer }[] = [];
    const ticks = 'import sys, time\nfor i in range(10):\n    print(i, flush=True)\n    print("e", i, file=sys.stderr, flush=True)\n    time.sleep(0.1)';
    const r = await run(sandbox, ticks, { onOutput: (stream, chunk) => heard.push({ stream, chunk }) });
    const joined = (stream: string) => Buffer.concat(heard.filter((h) => h.stream === stream).map((h) => h.chunk));
    expect(joined('stdout')).toEqual(r.stdout);
    expect(joined('stderr')).toEqual(r.stderr);
    // a piece per print: each line was heard on its own, well before the run's end
    expect(heard.filter((h) => h.stream === 'stdout').length).toBeGreaterThanOrEqual(5);
    expect(heard[0]!.chunk.toString()).toMatch(/^0\n|^e 0\n/);
  });

  it('streams no more than the output cap', async () => {
    const heard: Buffer[] = [];
    const r = await run(sandbox, 'while True: print("x" * 1000)', { maxOutputBytes: 4096, onOutput: (_s, chunk) => heard.push(chunk) });
    expect(r.outputLimited).toBe(true);
    expect(Buffer.concat(heard)).toEqual(r.stdout);
    expect(Buffer.concat(heard).length).toBe(4096);
  });

  it('runs cells in a persistent interpreter context, with the last value as a result', async () => {
    const context = { id: 'ctx-1', generation: 1 };
    const first = await run(sandbox, 'x = 41', { context });
    expect(first).toMatchObject({ exitCode: 0, context: { started: 'first cell', reset: null }, results: [] });
    const second = await run(sandbox, 'print("side")\nx + 1', { context });
    expect(second.stdout.toString()).toBe('side\n');
    expect(second).toMatchObject({ exitCode: 0, context: { started: null, reset: null }, results: [{ data: { 'text/plain': '42' }, main: true }] });
    await sandbox.stopContext('ctx-1');
    expect((await run(sandbox, 'x', { context })).context).toEqual({ started: 'first cell', reset: null });
    // stopped while another run goes on, without waiting for it (a delete must not wait for a long cell)
    const order: string[] = [];
    const long = run(sandbox, 'import time\ntime.sleep(2)').then(() => order.push('run'));
    await new Promise((r) => setTimeout(r, 300));
    await sandbox.stopContext('ctx-1').then(() => order.push('stopped'));
    await long;
    expect(order).toEqual(['stopped', 'run']);
    // (a context's interpreter is the sandbox user's like any program: the channel tests below run without one)
  });

  it("forks the next Python run while idle, and forks afresh when that process was stopped or killed meanwhile", async () => {
    const context = { id: 'ctx-standby', generation: 1 };
    // the context's code may signal every process of the sandbox user but its own interpreter
    const signalOthers = (sig: string) =>
      `import os, signal\nn = 0\nfor p in [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:\n    try:\n        os.kill(p, signal.${sig}); n += 1\n    except OSError:\n        pass\nprint(n)`;
    for (const sig of ['SIGSTOP', 'SIGKILL']) {
      expect((await run(sandbox, 'print(1)')).stdout.toString()).toBe('1\n');
      // idle: the executor forks the next run's process now, off the run's clock
      await new Promise((r) => setTimeout(r, 200));
      const signalled = await run(sandbox, signalOthers(sig), { context });
      expect(Number(signalled.stdout.toString())).toBe(1);
      // a stopped one would hold the run until its time limit, a dead one would lose it
      const next = await run(sandbox, 'print(2)', { timeoutMs: 5000 });
      expect(next).toMatchObject({ exitCode: 0, timedOut: false });
      expect(next.stdout.toString()).toBe('2\n');
      expect(next.wallMs).toBeLessThan(2000);
    }
    await sandbox.stopContext('ctx-standby');
  });

  it('reports a killed container as lost, to the run in flight and to listeners', async () => {
    const victim = await runtime.create(spec());
    const lost = new Promise<string>((resolve) => victim.onLost(resolve));
    const running = run(victim, 'import subprocess\nsubprocess.run(["sleep", "30"])');
    await programRuns(victim, 'sleep 30');
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

    it("brings the workspace's scan along with a run that asks for it, as a scan after it lists it", async () => {
      const report = await run(sandbox, 'import os\nos.makedirs("along", exist_ok=True)\nopen("along/new.txt", "w").write("abc")', { scan: 1000 });
      expect(report.scan?.entries).toContainEqual({ path: 'along/new.txt', kind: 'file', size: 3, token: expect.any(String) });
      expect(report.scan).toEqual(await sandbox.scan(1000));
      expect((await run(sandbox, 'print(1)')).scan).toBeNull();
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

  describe('the channel to the agent, out of the reach of user code', () => {
    it('lets a program open no file descriptor but its own: forged result, data and wrote lines never arrive', async () => {
      const r = await run(
        sandbox,
        [
          'import base64, gc, json, os, sys',
          '# requests are in the memory this child was forked with (a pre-forked one holds the previous run\'s);',
          '# the worst case: the forgery also carries the real run id, however the program learned it',
          `ids = {"r${seq + 1}"} | {o["id"] for o in gc.get_objects() if isinstance(o, dict) and o.get("op") == "run"}`,
          'forged = [{"op": "result", "id": i, "exit_code": 0, "signal": None, "timed_out": False, "cancelled": False, "output_limited": False,',
          '           "stdout": base64.b64encode(b"forged").decode(), "stderr": "", "stdout_bytes": 6, "stderr_bytes": 0, "wall_ms": 1, "cpu_ms": 1,',
          '           "max_rss_kb": 1, "oom_kills": 0, "pids_limited": 0, "error": None} for i in sorted(ids)]',
          'for i in range(1, 50):',
          '    forged += [{"op": "wrote", "id": f"write-{i}", "files": []}, {"op": "data", "id": f"read-{i}", "files": []}]',
          'line = "".join(json.dumps(f) + "\\n" for f in forged).encode()',
          'reached, denied = set(), set()',
          'for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:',
          '    try:',
          '        fds = os.listdir(f"/proc/{pid}/fd")',
          '    except OSError:',
          '        denied.add(pid)',
          '        continue',
          '    for fd in fds:',
          '        try:',
          '            with open(f"/proc/{pid}/fd/{fd}", "wb", buffering=0) as f:',
          '                f.write(line)',
          '            reached.add(pid)',
          '        except OSError:',
          '            pass',
          'print(json.dumps({"ids": sorted(ids), "me": os.getpid(), "executor": os.getppid(), "reached": sorted(reached), "denied": sorted(denied)}))',
          'sys.exit(3)',
        ].join('\n'),
      );
      expect(r.exitCode).toBe(3);
      const report = JSON.parse(r.stdout.toString().trim().split('\n').at(-1)!) as { ids: string[]; me: number; executor: number; reached: number[]; denied: number[] };
      expect(report.ids).toContain(`r${seq}`);
      // only its own pipes (what it wrote there is its own output); init and the executor are closed to it
      expect(report.reached).toEqual([report.me]);
      expect(report.denied).toEqual([1, report.executor]);
      expect(sandbox.alive).toBe(true);
      expect((await run(sandbox, 'print("next")')).stdout.toString()).toBe('next\n');
    });

    it('lets a program neither ptrace, read the memory or environment of, nor signal init or the executor', async () => {
      const r = await run(
        sandbox,
        [
          'import ctypes, errno, os, signal',
          ...PROBE_HELPERS,
          'for pid in (1, os.getppid()):',
          '    attempt("ptrace-attach", lambda: check(libc.ptrace(16, pid, None, None)))',
          '    attempt("ptrace-seize", lambda: check(libc.ptrace(0x4206, pid, None, None)))',
          '    attempt("process_vm_readv", lambda: vm_read(pid))',
          '    for name in ("mem", "environ", "maps", "cwd/."):',
          '        attempt(name, lambda: open(f"/proc/{pid}/{name}", "rb").read(1))',
          '    attempt("fd", lambda: os.listdir(f"/proc/{pid}/fd"))',
          '    for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGUSR1):',
          '        attempt(sig.name, lambda: os.kill(pid, sig))',
        ].join('\n'),
      );
      const lines = r.stdout.toString().trim().split('\n');
      expect(lines).toHaveLength(2 * 12);
      for (const line of lines) expect(line).toMatch(/ (EPERM|EACCES)$/);
      expect(r.exitCode).toBe(0);
      expect((await run(sandbox, 'print("executor alive")')).stdout.toString()).toBe('executor alive\n');
    });

    it('runs the program as a uid of its own: kill(-1) reaches its own processes only', async () => {
      const r = await run(sandbox, 'import os, signal, subprocess\nchild = subprocess.Popen(["sleep", "60"])\nos.kill(-1, signal.SIGKILL)\nprint(child.wait())');
      expect(r).toMatchObject({ exitCode: 0, signal: null, timedOut: false });
      expect(r.stdout.toString()).toBe('-9\n');
      expect(sandbox.alive).toBe(true);
    });

    it('writes uploaded files as the sandbox user, readable and writable by the program', async () => {
      await sandbox.write([{ path: 'owned/up.txt', offset: 0, data: Buffer.from('up'), last: true }]);
      const r = await run(sandbox, 'import os\nst = os.stat("owned/up.txt")\nopen("owned/up.txt", "a").write("+me")\nprint(st.st_uid, st.st_gid, os.stat("owned").st_uid, open("owned/up.txt").read())');
      expect(r.stdout.toString()).toBe('1000 1000 1000 up+me\n');
    });

    it('refuses an executor whose programs share its uid (a container started the way agents used to)', async () => {
      const old = await runtime.docker.createContainer({ ...containerCreateOptions(spec(), `sandbox-${nodeId}-old`), User: '1000:1000' });
      await old.start();
      await expect(runtime.reattach(old.id, 'python-basic')).rejects.toThrow(/does not run programs under a uid of their own/);
    });
  });

  describe('the orphan bound', () => {
    // a bound of 2 s: pinged every 500 ms while held
    const bounded = new DockerRuntime({ socketPath: '/var/run/docker.sock', executorGraceMs: 3000, orphanAfterSeconds: 2 });

    it('keeps a sandbox its runtime holds, idle for several times the bound', async () => {
      const held = await bounded.create(spec());
      // the fault that must last: nothing asked of the sandbox but the keep-alive pings
      await new Promise((r) => setTimeout(r, 3 * 2000));
      expect(held.alive).toBe(true);
      expect((await run(held, 'print("still here")')).stdout.toString()).toBe('still here\n');
    });

    it('keeps a sandbox frozen (docker pause) for longer than the bound: the pings sent meanwhile wait for it', async () => {
      const held = await bounded.create(spec());
      const container = runtime.docker.getContainer(held.containerId);
      await container.pause();
      await new Promise((r) => setTimeout(r, 3 * 2000));
      await container.unpause();
      expect((await run(held, 'print("thawed")')).stdout.toString()).toBe('thawed\n');
    });

    it('removes a sandbox nobody speaks to any more', async () => {
      const left = await bounded.create(spec());
      // its agent is gone: no request, no ping
      left.detach();
      await removed(left.containerId);
    });

    it('removes it with the run in flight, nothing left running', async () => {
      const left = await bounded.create(spec());
      const running = run(left, 'sleep 600', { language: 'bash', timeoutMs: 600_000 });
      await programRuns(left, 'sleep 600');
      left.detach();
      await expect(running).rejects.toBeInstanceOf(SandboxLostError);
      await removed(left.containerId);
    });
  });
});
