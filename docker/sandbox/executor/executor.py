"""In-sandbox executor: the long-lived process of every sandbox container.

The runtime agent talks to it with JSON lines over the container's attached stdin/stdout, so an
execution costs a fork instead of a `docker exec` (about 4 ms against 80 ms here). One executor serves
every template; it runs as the unprivileged sandbox user, like the code it starts.

Requests (one JSON object per line on stdin):
  {"op": "run", "id", "language": "python"|"javascript"|"bash", "code", "stdin"?, "env"?,
   "timeout_ms", "max_output_bytes", "cwd"?}
  {"op": "cancel", "id"}          stop the run with this id
  {"op": "ping", "id"}            answered with {"op": "pong", "id"}
Replies (one JSON object per line on stdout):
  {"op": "ready", "version", "pid"} once, at start
  {"op": "result", "id", "exit_code", "signal", "timed_out", "cancelled", "output_limited",
   "stdout", "stderr" (base64, at most max_output_bytes each), "stdout_bytes", "stderr_bytes",
   "wall_ms", "cpu_ms", "max_rss_kb", "error"}

Every run gets its own process group; when it ends (exit, wall-time limit, output limit, cancel) every
process it left behind is killed: the executor is a child subreaper, so even double-forked daemons stay
its descendants and none survives into the next execution. Python runs in a child forked from this
already-initialised interpreter; other languages are spawned.

The agent treats every reply as untrusted: user code runs with the same uid and could kill this
process, so the agent caps what it reads and reports a dead executor as a lost sandbox.
"""

import atexit
import base64
import builtins
import ctypes
import io
import json
import os
import resource
import selectors
import signal
import sys
import time
import traceback
import types

PROTOCOL_VERSION = 1
MAX_REQUEST_BYTES = 16 << 20
READ_CHUNK = 65536
RUN_DIR = "/tmp/.sandbox"
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/workspace",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
}
LANGUAGES = ("python", "javascript", "bash")

_libc = ctypes.CDLL(None, use_errno=True)


def send(msg):
    data = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        n = os.write(1, view)
        view = view[n:]


class Capture:
    """Keeps the first `cap` bytes of a stream and counts all of them."""

    def __init__(self, cap):
        self.cap = cap
        self.data = bytearray()
        self.total = 0

    def feed(self, chunk):
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        return self.total > self.cap


def descendants():
    """Pids of every live process below this one, read from /proc."""
    me = os.getpid()
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z":
            parent[int(name)] = int(fields[1])
    found, frontier = [], {me}
    while frontier:
        nxt = {pid for pid, ppid in parent.items() if ppid in frontier}
        found.extend(nxt)
        frontier = nxt
    return found


# wait statuses of children reaped by the sweep, so the run's own status is never lost to it
REAPED = {}


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = status


def wait_for(pid):
    if pid in REAPED:
        return REAPED.pop(pid)
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return REAPED.pop(pid)


def kill_everything(pgid):
    """SIGKILL the run's group and every descendant until none is left (forks race the sweep)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    for _ in range(200):
        left = descendants()
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reap()
        time.sleep(0.005)
    reap()


def child_env(extra):
    env = dict(BASE_ENV)
    for key, value in (extra or {}).items():
        env[str(key)] = str(value)
    return env


def run_python_in_child(code, env):
    """Runs `code` like `python3 -c code` would, in this freshly forked interpreter; never returns."""
    exit_code = 0
    try:
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["-c"]
        sys.path[0] = ""
        sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
        sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
        sys.stderr = sys.__stderr__ = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8", errors="backslashreplace", line_buffering=True
        )
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        sys.modules["__main__"] = main
        try:
            exec(compile(code, "<string>", "exec"), main.__dict__)
        except SystemExit as e:
            exit_code = exit_status(e.code)
        except BaseException as e:  # noqa: BLE001 - mirror the interpreter: print and exit 1
            tb = e.__traceback__.tb_next if e.__traceback__ else None
            traceback.print_exception(type(e), e, tb)
            exit_code = 1
        try:
            threading = sys.modules.get("threading")
            if threading is not None:
                threading._shutdown()
            atexit._run_exitfuncs()
        except SystemExit as e:
            exit_code = exit_status(e.code)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - a closed or broken pipe must not hide the exit code
                pass
        os._exit(exit_code)


def exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def command_for(req):
    language = req["language"]
    if language == "python":
        return None
    os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
    if language == "javascript":
        path = os.path.join(RUN_DIR, "main.js")
        with open(path, "w", encoding="utf-8") as f:
            f.write(req["code"])
        # detect-module: a program with import/export runs as an ES module, any other as CommonJS
        return ["/usr/local/bin/node", "--experimental-detect-module", "--no-warnings", path]
    return ["/bin/bash", "-c", req["code"]]


def start(req, fds):
    """Forks the run; the child gets the pipes as 0/1/2 and nothing else."""
    argv = command_for(req)
    env = child_env(req.get("env"))
    cwd = req.get("cwd") or "/workspace"
    pid = os.fork()
    if pid != 0:
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        return pid
    try:
        os.setpgid(0, 0)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # the run, never the executor, is the OOM killer's first choice
        except OSError:
            pass
        os.chdir(cwd)
        if argv is None:
            run_python_in_child(req["code"], env)
        os.execve(argv[0], argv, env)
    except BaseException as e:  # noqa: BLE001
        os.write(2, f"sandbox: cannot start {req['language']}: {e}\n".encode())
    os._exit(127)


def execute(req, inbox):
    """Runs one request to the end and returns its result message."""
    cap = int(req.get("max_output_bytes") or 1 << 20)
    deadline = time.monotonic() + int(req.get("timeout_ms") or 30000) / 1000
    out, err = Capture(cap), Capture(cap)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    pid = start(req, (in_r, out_w, err_w))
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    stdin_data = memoryview((req.get("stdin") or "").encode("utf-8", "surrogateescape"))
    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ, out)
    sel.register(err_r, selectors.EVENT_READ, err)
    sel.register(pidfd, selectors.EVENT_READ, "exit")
    sel.register(0, selectors.EVENT_READ, "control")
    if stdin_data:
        os.set_blocking(in_w, False)
        sel.register(in_w, selectors.EVENT_WRITE, "stdin")
    else:
        os.close(in_w)
        in_w = -1
    status = None
    stop_reason = None
    open_streams = 2

    def close_stdin():
        nonlocal in_w
        if in_w >= 0:
            sel.unregister(in_w)
            os.close(in_w)
            in_w = -1

    while open_streams or status is None:
        timeout = None if stop_reason else max(0.0, deadline - time.monotonic())
        events = sel.select(timeout)
        if not events and not stop_reason and time.monotonic() >= deadline:
            stop_reason = "timed_out"
            close_stdin()
            kill_everything(pid)
            continue
        for key, _ in events:
            what = key.data
            if what == "exit":
                status = wait_for(pid)
                sel.unregister(pidfd)
                os.close(pidfd)
                close_stdin()
                # the program is done: whatever it left running dies now, which also closes its pipes
                kill_everything(pid)
            elif what == "stdin":
                try:
                    n = os.write(in_w, stdin_data[:READ_CHUNK])
                    stdin_data = stdin_data[n:]
                    if not stdin_data:
                        close_stdin()
                except (BrokenPipeError, BlockingIOError):
                    close_stdin()
            elif what == "control":
                msgs = inbox.read()
                if inbox.closed:
                    sel.unregister(0)
                for msg in msgs:
                    if msg.get("op") == "cancel" and msg.get("id") == req.get("id") and not stop_reason:
                        stop_reason = "cancelled"
                        close_stdin()
                        kill_everything(pid)
                    elif msg.get("op") == "ping":
                        send({"op": "pong", "id": msg.get("id")})
                    else:
                        inbox.pending.append(msg)
            else:
                chunk = os.read(key.fd, READ_CHUNK)
                if not chunk:
                    sel.unregister(key.fd)
                    os.close(key.fd)
                    open_streams -= 1
                elif what.feed(chunk) and not stop_reason:
                    stop_reason = "output_limited"
                    close_stdin()
                    kill_everything(pid)
    sel.close()
    REAPED.clear()
    wall_ms = (time.monotonic() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
    exit_code = os.waitstatus_to_exitcode(status)
    return {
        "op": "result",
        "id": req.get("id"),
        "exit_code": exit_code if exit_code >= 0 else None,
        "signal": -exit_code if exit_code < 0 else None,
        "timed_out": stop_reason == "timed_out",
        "cancelled": stop_reason == "cancelled",
        "output_limited": stop_reason == "output_limited",
        "stdout": base64.b64encode(out.data).decode(),
        "stderr": base64.b64encode(err.data).decode(),
        "stdout_bytes": out.total,
        "stderr_bytes": err.total,
        "wall_ms": round(wall_ms, 3),
        "cpu_ms": round(cpu_ms, 3),
        "max_rss_kb": after.ru_maxrss,
        "error": None,
    }


class Inbox:
    """Reads request lines from stdin; keeps what arrives during a run for afterwards."""

    def __init__(self):
        self.buf = bytearray()
        self.pending = []
        self.closed = False

    def read(self):
        chunk = os.read(0, READ_CHUNK)
        if not chunk:
            self.closed = True
            return []
        self.buf += chunk
        msgs = []
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                if len(self.buf) > MAX_REQUEST_BYTES:
                    self.buf.clear()
                    msgs.append({"op": "invalid", "error": "request line too long"})
                break
            line = bytes(self.buf[:nl])
            del self.buf[: nl + 1]
            if line.strip():
                try:
                    msg = json.loads(line)
                    msgs.append(msg if isinstance(msg, dict) else {"op": "invalid", "error": "not an object"})
                except ValueError as e:
                    msgs.append({"op": "invalid", "error": f"bad JSON: {e}"})
        return msgs

    def next(self):
        while not self.pending:
            if self.closed:
                return None
            self.pending.extend(self.read())
        return self.pending.pop(0)


def handle(msg, inbox):
    op = msg.get("op")
    if op == "ping":
        send({"op": "pong", "id": msg.get("id")})
    elif op == "run":
        if msg.get("language") not in LANGUAGES or not isinstance(msg.get("code"), str):
            send({"op": "result", "id": msg.get("id"), "error": f"unsupported request: language must be one of {LANGUAGES}"})
            return
        try:
            send(execute(msg, inbox))
        except Exception as e:  # noqa: BLE001 - report, stay alive for the next run
            send({"op": "result", "id": msg.get("id"), "error": f"executor: {type(e).__name__}: {e}"})
    elif op == "cancel":
        pass  # nothing runs: nothing to cancel
    else:
        send({"op": "error", "id": msg.get("id"), "error": msg.get("error") or f"unknown op {op!r}"})


def main():
    # Not dumpable: code running as the same uid cannot ptrace this process or open its /proc fds.
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Subreaper: orphans of a run are re-parented here, never escape the sweep.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    sys.dont_write_bytecode = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inbox = Inbox()
    send({"op": "ready", "version": PROTOCOL_VERSION, "pid": os.getpid()})
    while True:
        msg = inbox.next()
        if msg is None:
            return
        handle(msg, inbox)


if __name__ == "__main__":
    main()
