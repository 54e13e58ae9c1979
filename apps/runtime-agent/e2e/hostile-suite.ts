import { EGRESS_LABEL } from '@sandbox/runtime';
import { kubectl, PROBE_HELPERS, TestPlatform } from '@sandbox/testing';

/** Where the suite's sandboxes run: what the agents need for it, made before the platform starts. */
export interface HostileRuntime {
  readonly name: 'docker' | 'kubernetes';
  /** Kubernetes: the namespace of the sandbox pods. */
  readonly namespace?: string;
  /** Sets up what the runtime needs (a cluster, a namespace); the agents' environment for it. */
  setUp(): Promise<Record<string, string>>;
  tearDown(): Promise<void>;
}

/**
 * The hostile programs of reliability.md §2.1 (H1–H27), each in a session of its own while a
 * neighbour session runs an ordinary program (I7: only the hostile session is harmed). Every case
 * asserts the verdict (status and reason) and what the program could or could not do. A canary secret
 * sits in the agent's and the control plane's environment: no output may ever contain it. The same
 * cases on every runtime; where one cannot hold a limit as Docker does, the case says what it holds.
 */
const CANARY = 'canary-7f3a9c1e-do-not-leak';

export function hostileSuite(runtime: HostileRuntime): void {
  describe(`hostile code on ${runtime.name}`, () => {
    let p: TestPlatform;
    let neighbour: { id: string };
    let rssAtStart = 0;
    const outputs: string[] = [];

    beforeAll(async () => {
      p = await TestPlatform.start(`e2e-hostile-${runtime.name}`, {
        // the store is not what this suite is about, and tens of thousands of small objects are slow on s3rver
        storage: 'fs',
        warmPool: 'python-basic=3',
        agentEnv: { AGENT_CAPACITY: '4', CANARY_SECRET: CANARY, ...(await runtime.setUp()) },
        controlPlaneEnv: { CANARY_SECRET: CANARY },
      });
      neighbour = await p.session();
      await p.execute(neighbour.id, { code: 'print("warm")' });
      rssAtStart = p.agentRss(p.nodeIds[0]!);
      // the first start of the local cluster builds it
    }, 3_300_000);

    afterAll(async () => {
      await p?.stop();
      await runtime.tearDown();
    }, 300_000);

    // each case's sessions end with it: a node holds only as many as its budget allows
    afterEach(async () => {
      const sessions = (await p.api('GET', '/v1/sessions?status=running&limit=100')).body.items;
      for (const s of sessions) if (s.id !== neighbour.id) await p.api('DELETE', `/v1/sessions/${s.id}`);
    });

    /** Runs the hostile program in a fresh session while the neighbour runs an ordinary one. */
    const hostile = async (code: string, extra: Record<string, unknown> = {}, session: Record<string, unknown> = {}) => {
      const s = await p.session('python-basic', session);
      const [e, healthy] = await Promise.all([
        p.execute(s.id, { timeout: 5, ...extra, code }),
        p.execute(neighbour.id, { code: 'import time\ntime.sleep(0.3)\nprint("healthy")' }),
      ]);
      expect(healthy).toMatchObject({ status: 'completed', stdout: 'healthy\n' });
      expect((await p.api('GET', '/health')).status).toBe(200);
      outputs.push(e.stdout ?? '', e.stderr ?? '', e.error ?? '');
      return { e, s };
    };
    /** What the sandbox shows of its processes: every pid but tini and the executor is the program's. */
    const processes = async (sessionId: string) => (await p.execute(sessionId, { code: 'import os\nprint(len([p for p in os.listdir("/proc") if p.isdigit()]))' })).stdout;

    /**
     * A fork bomb ends at the wall time. On Kubernetes only the node's podPidsLimit (1024, not the
     * template's pids) holds it, and killing that many processes on a busy node can outlast the
     * executor's grace: then the sandbox is declared lost and the session gets a new pod, contained too.
     */
    const forkBombEnded = (e: { status: string; reason: string }) => {
      const lost = runtime.name === 'kubernetes' && e.reason === 'sandbox_lost';
      expect(e).toMatchObject(lost ? { status: 'failed', reason: 'sandbox_lost' } : { status: 'timeout', reason: 'wall_timeout' });
      return !lost;
    };

    it('H1 fork bomb (python): held at the pids limit, ends at the wall time, nothing left behind', async () => {
      const { e, s } = await hostile('import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass', { timeout: 3 });
      forkBombEnded(e);
      // tini, the executor, and the listing program
      expect(await processes(s.id)).toBe('3\n');
    });

    it('H1 fork bomb (bash): held at the pids limit while its parent lives, all of it killed at the end', async () => {
      const { e, s } = await hostile(':(){ :|:& };:\nsleep 10', { language: 'bash', timeout: 3 });
      if (forkBombEnded(e)) expect(e.stderr).toMatch(/fork: (retry: )?Resource temporarily unavailable/);
      expect(await processes(s.id)).toBe('3\n');
    });

    it('H2 thread bomb: threads count against the pids limit, which the verdict names', async () => {
      const { e } = await hostile('import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()');
      expect(e).toMatchObject({ status: 'completed', reason: 'pids_limit', exit_code: 1 });
      expect(e.stderr).toMatch(/can't start new thread/);
    });

    it('H3 memory bomb: killed by the out-of-memory killer of its own container, and the session goes on', async () => {
      const { e, s } = await hostile('chunks = []\nwhile True:\n    chunks.append(b"m" * (16 << 20))', { timeout: 20 });
      expect(e).toMatchObject({ status: 'failed', reason: 'memory_limit', exit_code: 137 });
      expect(e.error).toMatch(/memory limit of 512Mi exceeded/);
      expect(await p.execute(s.id, { code: 'print("alive")' })).toMatchObject({ status: 'completed', stdout: 'alive\n' });
    });

    it('H4 CPU burn on many processes: capped at its CPU share, ended at the wall time', async () => {
      const { e } = await hostile('import multiprocessing\ndef burn():\n    while True:\n        pass\nfor _ in range(4):\n    multiprocessing.Process(target=burn).start()\nburn()', { timeout: 3 });
      expect(e).toMatchObject({ status: 'timeout', reason: 'wall_timeout' });
      // one CPU for 3 s, whatever the number of burners
      expect(e.usage.cpu_ms).toBeLessThan(3 * 1000 * 1.3);
    });

    it('H5 sleeping past the limit: ended on wall-clock time', async () => {
      const { e } = await hostile('import time\ntime.sleep(10**6)', { timeout: 2 });
      expect(e).toMatchObject({ status: 'timeout', reason: 'wall_timeout' });
      expect(e.execution_time).toBeGreaterThanOrEqual(2);
      expect(e.execution_time).toBeLessThan(5);
    });

    it('H6 ignoring SIGTERM: killed anyway', async () => {
      const { e, s } = await hostile('import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(1000)', { timeout: 2 });
      expect(e).toMatchObject({ status: 'timeout', reason: 'wall_timeout' });
      expect(await processes(s.id)).toBe('3\n');
    });

    it('H7 output flood: cut at the cap, flagged, the program stopped long before gigabytes', async () => {
      const { e } = await hostile('while True:\n    print("x" * 10**6)', { timeout: 30 });
      expect(e).toMatchObject({ status: 'failed', reason: 'output_limit', stdout_truncated: true });
      expect(e.stdout.length).toBe(1 << 20);
      expect(e.usage.stdout_bytes).toBeGreaterThan(1 << 20);
      expect(e.usage.stdout_bytes).toBeLessThan(64 << 20);
    });

    it('H8 one 100 MB line, and a stderr flood: the same caps per stream', async () => {
      const { e } = await hostile('import sys\nsys.stdout.write("y" * (100 << 20))');
      expect(e).toMatchObject({ status: 'failed', reason: 'output_limit', stdout_truncated: true });
      const { e: err } = await hostile('import sys\nwhile True:\n    sys.stderr.write("z" * 65536)');
      expect(err).toMatchObject({ status: 'failed', reason: 'output_limit', stderr_truncated: true });
      expect(err.stderr.length).toBe(1 << 20);
    });

    it('H9 binary output, NUL bytes, invalid UTF-8 and escapes: stored safely, valid JSON', async () => {
      const { e } = await hostile('import sys\nsys.stdout.buffer.write(bytes(range(256)) + b"\\xff\\xfe\\x00 \\x1b[31mred")');
      expect(e).toMatchObject({ status: 'completed', reason: 'exited', exit_code: 0 });
      expect(e.stdout).toContain('\u0000');
      expect(e.stdout).toContain('\ufffd');
      expect(e.stdout).toContain('\u001b[31mred');
    });

    it('H10 disk fill of the workspace, /tmp and /dev/shm: ENOSPC inside the sandbox only', async () => {
      const { e } = await hostile(
        [
          'import errno',
          'for path in ["/workspace/fill", "/tmp/fill", "/dev/shm/fill"]:',
          '    try:',
          '        with open(path, "wb") as f:',
          '            while True:',
          '                f.write(b"\\0" * (1 << 20))',
          '    except OSError as e:',
          '        print(path, errno.errorcode[e.errno])',
        ].join('\n'),
        { timeout: 20 },
        { resources: { disk: '64Mi' } },
      );
      expect(e).toMatchObject({ status: 'completed', reason: 'exited' });
      expect(e.stdout).toBe('/workspace/fill ENOSPC\n/tmp/fill ENOSPC\n/dev/shm/fill ENOSPC\n');
    });

    it('H11 a file larger than the file-size limit: refused with EFBIG/SIGXFSZ inside the sandbox', async () => {
      const { e } = await hostile(
        'import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\nprint(resource.getrlimit(resource.RLIMIT_FSIZE)[0])\ntry:\n    open("big", "wb").truncate(2 << 30)\nexcept OSError as e:\n    print(e.strerror)',
        {},
        { resources: { disk: '64Mi' } },
      );
      expect(e.stdout).toBe(`${1 << 30}\nFile too large\n`);
    });

    it('H12 inode exhaustion: ENOSPC at the inode cap, the sync bounded and reported', async () => {
      const { e, s } = await hostile(
        'import os\nos.makedirs("many", exist_ok=True)\nn = 0\ntry:\n    while True:\n        open(f"many/{n}", "w").close()\n        n += 1\nexcept OSError as e:\n    print(e.strerror, n > 100000)',
        { timeout: 60 },
      );
      if (runtime.name === 'kubernetes') {
        // An emptyDir has no inode cap (Docker's tmpfs has nr_inodes): the inodes' memory counts against
        // the pod's limit, which its OOM killer holds, the executor included; the session gets a new pod.
        expect(e).toMatchObject({ status: 'failed', reason: 'memory_limit' });
        expect(await p.execute(s.id, { code: 'print("alive")' })).toMatchObject({ status: 'completed', stdout: 'alive\n' });
        return;
      }
      expect(e).toMatchObject({ status: 'completed', stdout: 'No space left on device True\n' });
      expect(e.artifacts).toHaveLength(10_000);
      expect(e.skipped_artifacts.count).toBeGreaterThan(100_000);
    });

    it('H13 writes outside the workspace: refused, and nothing persists into a new session', async () => {
      const probe = [
        'import errno',
        'for path in ["/usr/lib/evil", "/etc/passwd", "/proc/sys/kernel/hostname", "/sys/fs/cgroup/pids/pids.max", "/opt/sandbox/executor.py"]:',
        '    try:',
        '        open(path, "a").write("x")',
        '        print(path, "WRITTEN")',
        '    except OSError as e:',
        '        print(path, errno.errorcode[e.errno])',
      ].join('\n');
      const { e } = await hostile(probe);
      for (const line of e.stdout.trim().split('\n')) expect(line).toMatch(/ (EROFS|EACCES|EPERM)$/);
      const fresh = await p.session();
      const check = await p.execute(fresh.id, { code: 'print("x" in open("/etc/passwd").read()[-2:], __import__("os").path.exists("/usr/lib/evil"))' });
      expect(check.stdout).toBe('False False\n');
    });

    it('H14 links to host paths: never followed, never stored; hard links across filesystems refused', async () => {
      const { e } = await hostile(
        'import os\nfor t in ["/etc/shadow", "/proc/1/environ", "/var/run/docker.sock"]:\n    os.symlink(t, os.path.basename(t))\ntry:\n    os.link("/etc/passwd", "hard")\nexcept OSError as e:\n    print(e.strerror)',
      );
      expect(e.stdout).toBe('Invalid cross-device link\n');
      expect(e.artifacts).toEqual([]);
      expect(e.skipped_artifacts.items.map((i: { path: string }) => i.path).sort()).toEqual(['docker.sock', 'environ', 'shadow']);
    });

    it('H15 reading secrets: only its own environment, no docker socket, no host mounts', async () => {
      const { e } = await hostile(
        [
          'import os',
          'print(sorted(os.environ))',
          'try:\n    print(open("/proc/1/environ", "rb").read().split(b"\\0")[:20])\nexcept OSError as e:\n    print(e.strerror)',
          'print(os.path.exists("/var/run/docker.sock"), os.path.exists(os.path.expanduser("~/.aws")))',
          'print([l.split()[4] for l in open("/proc/self/mountinfo")][:40])',
        ].join('\n'),
        {},
        { env_vars: { MINE: 'ok' } },
      );
      const [env, initEnv, sockets] = e.stdout.split('\n');
      expect(JSON.parse(env.replace(/'/g, '"'))).toEqual(['HOME', 'LANG', 'MINE', 'MPLCONFIGDIR', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED', 'TMPDIR']);
      // init runs as root: its environment is not the program's to read
      expect(initEnv).toBe('Permission denied');
      expect(sockets).toBe('False False');
      expect(e.stdout).not.toContain(CANARY);
    });

    it('H16 network egress: none at all, every attempt fails fast', async () => {
      const { e, s } = await hostile(
        [
          'import socket, time',
          't0 = time.time()',
          'for host, port in [("1.1.1.1", 443), ("172.17.0.1", 6379), ("172.17.0.1", 3306), ("169.254.169.254", 80), ("10.0.0.1", 9000)]:',
          '    try:',
          '        socket.create_connection((host, port), timeout=2).close()',
          '        print(host, "CONNECTED")',
          '    except OSError as e:',
          '        print(host, type(e).__name__)',
          'try:',
          '    socket.getaddrinfo("example.com", 80)',
          '    print("dns RESOLVED")',
          'except OSError as e:',
          '    print("dns", type(e).__name__)',
          'print(time.time() - t0 < 2)',
        ].join('\n'),
      );
      if (runtime.name === 'kubernetes') {
        // A pod always has a network: only the NetworkPolicies of k8s/ (default-deny, and no egress label
        // on a template without network) shut it, and the local cluster has no plugin that enforces them.
        // What the pod itself holds: no DNS, and nothing that would let the policies let it out.
        expect(e.stdout).not.toMatch(/RESOLVED/);
        const [pod] = JSON.parse(await kubectl('get', 'pods', '-n', runtime.namespace!, '-l', `sandbox.session=${s.id}`, '-o', 'json')).items;
        expect(pod.spec.dnsPolicy).toBe('None');
        expect(pod.metadata.labels).not.toHaveProperty([EGRESS_LABEL]);
        return;
      }
      expect(e.stdout).not.toMatch(/CONNECTED|RESOLVED/);
      expect(e.stdout.trim().split('\n').at(-1)).toBe('True');
    });

    it('H17 /proc and cgroup probing: masked, read-only or denied', async () => {
      const { e } = await hostile(
        [
          'cat /proc/kcore 2>/dev/null | head -c 1 | wc -c',
          'echo b > /proc/sysrq-trigger 2>&1 || echo sysrq denied',
          'echo $$ > /sys/fs/cgroup/pids/cgroup.procs 2>&1 || echo cgroup denied',
          'mount -t tmpfs none /mnt 2>&1 || echo mount denied',
          'unshare -U true 2>&1 || echo unshare denied',
          'ls /sys/firmware 2>&1 | wc -l',
        ].join('\n'),
        { language: 'bash' },
      );
      expect(e.stdout).toMatch(/^0\n/);
      for (const denied of ['sysrq denied', 'cgroup denied', 'mount denied', 'unshare denied']) expect(e.stdout).toContain(denied);
    });

    it('H18 privilege escalation: every attempt refused, still uid 1000', async () => {
      const { e } = await hostile(
        ['su -c id root </dev/null 2>&1 | tail -1', 'chroot / true 2>&1 || echo chroot denied', 'mknod /tmp/dev c 1 3 2>&1 || echo mknod denied', 'date -s 2000-01-01 2>&1 || echo date denied', 'find / -xdev -perm /6000 -type f 2>/dev/null | wc -l', 'id -u'].join('\n'),
        { language: 'bash' },
      );
      for (const denied of ['Authentication failure', 'chroot denied', 'mknod denied', 'date denied']) expect(e.stdout).toContain(denied);
      // no setuid or setgid binary left in the image, and still the sandbox user
      expect(e.stdout).toMatch(/\n0\n1000\n$/);
    });

    it('H19 orphans and daemons: none outlives the execution that started them', async () => {
      const { e, s } = await hostile(
        'import os, subprocess\nsubprocess.Popen(["sleep", "1000"], start_new_session=True)\nif os.fork() == 0:\n    if os.fork() == 0:\n        os.setsid()\n        import time\n        time.sleep(1000)\n    os._exit(0)\nos.system("nohup sleep 1000 >/dev/null 2>&1 &")\nprint("spawned")',
      );
      expect(e).toMatchObject({ status: 'completed', stdout: 'spawned\n' });
      expect(await processes(s.id)).toBe('3\n');
    });

    it('H20 signals at its init and itself: init is out of its reach; a stopped program ends at the wall time', async () => {
      const { e, s } = await hostile(
        'import errno, os, signal\nfor sig in (signal.SIGKILL, signal.SIGTERM):\n    try:\n        os.kill(1, sig)\n    except OSError as e:\n        print(errno.errorcode[e.errno])\nprint("init alive")\nos.kill(os.getpid(), signal.SIGSTOP)',
        { timeout: 2 },
      );
      expect(e).toMatchObject({ status: 'timeout', stdout: 'EPERM\nEPERM\ninit alive\n' });
      expect(await p.execute(s.id, { code: 'print("container alive")' })).toMatchObject({ stdout: 'container alive\n' });
    });

    it('H21 killing its own sandbox (kill -9 -1): only its own processes die; the sandbox, its container and workspace live on', async () => {
      const { e, s } = await hostile('open("keep.txt", "w").write("kept")\nimport os, signal, subprocess\nchild = subprocess.Popen(["sleep", "60"])\nos.kill(-1, signal.SIGKILL)\nprint(child.wait())');
      expect(e).toMatchObject({ status: 'completed', reason: 'exited', exit_code: 0, stdout: '-9\n' });
      const next = await p.execute(s.id, { code: 'print(open("keep.txt").read())' });
      expect(next).toMatchObject({ status: 'completed', stdout: 'kept\n' });
      expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id).toBe(s.container_id);
    });

    it('H22 a marker in /tmp and /dev/shm is invisible to the next session', async () => {
      await hostile('open("/tmp/marker", "w").write("a")\nopen("/dev/shm/marker", "w").write("a")\nprint("left")');
      const { e } = await hostile('import os\nprint(os.path.exists("/tmp/marker"), os.path.exists("/dev/shm/marker"))');
      expect(e.stdout).toBe('False False\n');
    });

    it('H23 language-level "escapes" (ctypes, os.system): allowed, the container is the boundary', async () => {
      const { e } = await hostile('import ctypes, os\nprint(ctypes.CDLL(None).getpid() == os.getpid(), os.system("true"))');
      expect(e).toMatchObject({ status: 'completed', stdout: 'True 0\n' });
    });

    it('H24 reading stdin when none is given: end of file at once, no hang', async () => {
      const { e } = await hostile('import sys\nprint(repr(sys.stdin.read()))\ninput()', { timeout: 10 });
      expect(e).toMatchObject({ status: 'completed', exit_code: 1, stdout: "''\n" });
      expect(e.stderr).toMatch(/EOFError/);
      expect(e.execution_time).toBeLessThan(2);
    });

    /** Checks a probe's report (lines of "<what> <outcome>"): every outcome is one of `refused`. */
    const refusedAll = (stdout: string, lines: number, refused = /^(EPERM|EACCES)$/) => {
      const outcomes = stdout.trim().split('\n').map((l) => [l, l.split(' ').at(-1)!] as const);
      expect(outcomes).toHaveLength(lines);
      for (const [line, outcome] of outcomes) expect({ line, refused: refused.test(outcome) }).toEqual({ line, refused: true });
    };

    it('H25 forged result, data and wrote lines written to every reachable /proc/*/fd/*: only its own pipes open; the verdict, output and files are the real ones', async () => {
      const { e, s } = await hostile(
        [
          'import base64, gc, json, os, sys',
          '# the request is in the memory this child was forked with: the forgery carries the real run id',
          'req = next(o for o in gc.get_objects() if isinstance(o, dict) and o.get("op") == "run")',
          'forged = [{"op": "result", "id": req["id"], "exit_code": 0, "signal": None, "timed_out": False, "cancelled": False, "output_limited": False,',
          '           "stdout": base64.b64encode(b"forged").decode(), "stderr": "", "stdout_bytes": 6, "stderr_bytes": 0, "wall_ms": 1, "cpu_ms": 1,',
          '           "max_rss_kb": 1, "oom_kills": 0, "pids_limited": 0, "error": None}]',
          'for i in range(1, 100):',
          '    forged += [{"op": "scanned", "id": f"scan-{i}", "entries": [["real.txt", "f", 6, "t"]], "truncated": False, "unlisted_files": 0, "counted": True},',
          '               {"op": "data", "id": f"read-{i}", "files": [{"path": "real.txt", "data": base64.b64encode(b"forged").decode(), "size": 6, "token": "t", "eof": True}]},',
          '               {"op": "wrote", "id": f"write-{i}", "files": []}]',
          'line = "".join(json.dumps(f) + "\\n" for f in forged).encode()',
          'open("real.txt", "w").write("real")',
          'reached, denied = set(), set()',
          'for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:',
          '    for fds in (f"/proc/{pid}/fd", *(f"/proc/{pid}/task/{t}/fd" for t in os.listdir(f"/proc/{pid}/task"))):',
          '        try:',
          '            names = os.listdir(fds)',
          '        except OSError:',
          '            denied.add(pid)',
          '            continue',
          '        for fd in names:',
          '            try:',
          '                with open(f"{fds}/{fd}", "wb", buffering=0) as f:',
          '                    f.write(line)',
          '                reached.add(pid)',
          '            except OSError:',
          '                pass',
          'print(json.dumps({"me": os.getpid(), "executor": os.getppid(), "reached": sorted(reached), "denied": sorted(denied)}))',
          'sys.exit(3)',
        ].join('\n'),
      );
      // the real verdict: its own exit code, its own output (the forged lines it wrote to its own pipes are data)
      expect(e).toMatchObject({ status: 'completed', reason: 'exited', exit_code: 3 });
      const report = JSON.parse(e.stdout.trim().split('\n').at(-1)!);
      expect(report.reached).toEqual([report.me]);
      expect(report.denied).toEqual([1, report.executor]);
      // the files synced after the run are the real ones
      expect(e.artifacts.map((a: { path: string }) => a.path)).toEqual(['real.txt']);
      expect((await p.raw('GET', `/v1/sessions/${s.id}/files/real.txt`)).bytes.toString()).toBe('real');
      expect(await p.execute(s.id, { code: 'print("next")' })).toMatchObject({ status: 'completed', stdout: 'next\n' });
    });

    it('H26 ptrace of init and the executor, reading their memory and environment: every attempt refused', async () => {
      const { e, s } = await hostile(
        [
          'import ctypes, errno, os',
          ...PROBE_HELPERS,
          'for pid in (1, os.getppid()):',
          '    attempt(f"ptrace-attach {pid}", lambda: check(libc.ptrace(16, pid, None, None)))',
          '    attempt(f"ptrace-seize {pid}", lambda: check(libc.ptrace(0x4206, pid, None, None)))',
          '    attempt(f"process_vm_readv {pid}", lambda: vm_read(pid))',
          '    for name in ("mem", "environ", "maps", "auxv", "syscall", "stack"):',
          '        attempt(f"{name} {pid}", lambda: open(f"/proc/{pid}/{name}", "rb").read(1))',
        ].join('\n'),
      );
      expect(e).toMatchObject({ status: 'completed', exit_code: 0 });
      refusedAll(e.stdout, 2 * 9);
      expect(await p.execute(s.id, { code: 'print("executor alive")' })).toMatchObject({ stdout: 'executor alive\n' });
    });

    it('H27 side doors to the channel: signals at init and the executor, their task fds, root and cwd, a console, root again: all shut', async () => {
      const { e, s } = await hostile(
        [
          'import ctypes, errno, os, signal',
          ...PROBE_HELPERS,
          'executor = os.getppid()',
          'for pid in (1, executor):',
          '    for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):',
          '        attempt(f"{sig.name} {pid}", lambda: os.kill(pid, sig))',
          '    attempt(f"task-fds {pid}", lambda: [os.listdir(f"/proc/{pid}/task/{t}/fd") for t in os.listdir(f"/proc/{pid}/task")])',
          '    attempt(f"root {pid}", lambda: os.listdir(f"/proc/{pid}/root/"))',
          '    attempt(f"cwd {pid}", lambda: os.listdir(f"/proc/{pid}/cwd/"))',
          'for dev in ("/dev/console", "/dev/tty"):',
          '    attempt(dev, lambda: open(dev, "wb"))',
          'attempt("setuid 0", lambda: os.setuid(0))',
        ].join('\n'),
      );
      expect(e).toMatchObject({ status: 'completed', exit_code: 0 });
      refusedAll(e.stdout, 2 * 8 + 3, /^(EPERM|EACCES|ENXIO|ENOENT)$/);
      expect(await p.execute(s.id, { code: 'print("executor alive")' })).toMatchObject({ status: 'completed', stdout: 'executor alive\n' });
      expect((await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id).toBe(s.container_id);
    });

    it('leaks the canary secret through no output at all', () => {
      expect(outputs.length).toBeGreaterThan(50);
      for (const o of outputs) expect(o).not.toContain(CANARY);
    });

    it('leaves no container but the warm pool once the sessions end, and the agent memory flat', async () => {
      const sessions = (await p.api('GET', '/v1/sessions?status=running&limit=100')).body.items;
      for (const s of sessions) await p.api('DELETE', `/v1/sessions/${s.id}`);
      await p.until('only the warm pool left', async () => p.containers(`sandbox.node=${p.nodeIds[0]}`).length === 3);
    });

    it('keeps the agent memory flat under repeated output floods and file storms', async () => {
      const round = async () => {
        const s = await p.session();
        await p.execute(s.id, { code: 'while True:\n    print("x" * 10**6)', timeout: 30 });
        await p.execute(s.id, { code: 'import os\nos.makedirs("d", exist_ok=True)\nfor i in range(12000):\n    open(f"d/{i}", "w").write(str(i))', timeout: 60 });
        await p.api('DELETE', `/v1/sessions/${s.id}`);
      };
      // RSS swings by tens of MiB with garbage collection: a leak shows as a floor that keeps rising
      const rss: number[] = [];
      for (let i = 0; i < 5; i++) {
        await round();
        rss.push(p.agentRss(p.nodeIds[0]!));
      }
      expect(Math.min(...rss.slice(2))).toBeLessThan(Math.max(...rss.slice(0, 2)) + (32 << 20));
      // what the agent keeps is the floor; a peak is garbage not collected yet, and moves with GC timing
      // (peaks 450 to 570 MiB in runs of the same build here, floors 360 to 440 MiB)
      expect(Math.min(...rss) - rssAtStart).toBeLessThan(320 << 20);
    }, 300_000);
  });
}
