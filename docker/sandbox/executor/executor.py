"""In-sandbox executor: the long-lived process of every sandbox container.

The runtime agent talks to it with JSON lines over the container's attached stdin/stdout, so an
execution costs a fork instead of a `docker exec` (about 4 ms against 80 ms here). One executor serves
every template.

The channel is out of user code's reach: the container starts as root with no capability but
SETUID, SETGID and KILL (no-new-privileges), and every program runs as the sandbox user (uid 1000),
dropped to it in the forked child before anything of the program runs. User code then cannot open
the executor's or init's /proc/<pid>/fd/* (their stdio is the channel), ptrace them, read their
memory or environment, or signal them: each of those needs the same uid or a capability it has not.
Started as the sandbox user (an agent of an older version), the executor works as before, with its
programs under its own uid, and says so: `isolated` is false.

Requests (one JSON object per line on stdin):
  {"op": "run", "id", "language": "python"|"javascript"|"bash"|"c"|"cpp", "code", "stdin"? (text) or
   "stdin_base64"? (bytes), "env"?, "args"? (argv after the program), "timeout_ms", "max_output_bytes", "cwd"?,
   "stream"? (send the output as it comes, in "output" replies, before the result),
   "context"? {"id", "generation"} (run the code as a cell of that context's interpreter, started when
   it has none or an older generation: its variables stay for the next cell),
   "cases"? [{"stdin"|"stdin_base64", "args"?, "timeout_ms"}] (run the program once per case instead,
   each isolated from the others, at most "cases_budget_ms" for them all),
   "scan"? (a limit: the result carries the workspace's scan after the run, as "scanned" would)}
   C and C++ are compiled first (gcc, g++), within timeout_ms, once whatever the number of cases.
  {"op": "context_stop", "id", "context_id"}  stop a context's interpreter (answered "context_stopped")
  {"op": "cancel", "id"}          stop the run with this id
  {"op": "ping", "id"}            answered with {"op": "pong", "id", "version", "isolated"}
  Workspace files, between runs (paths relative to /workspace, '/'-separated):
  {"op": "scan", "id", "limit"}   every entry, never following symlinks, at most `limit` of them
  {"op": "read", "id", "files": [{"path", "offset", "length"}]}      at most MAX_IO_BYTES in all
  {"op": "write", "id", "files": [{"path", "offset", "data", "last"}]} (offset 0 truncates)
  {"op": "remove", "id", "paths"}  {"op": "wipe", "id"}  (wipe: empty the workspace)
Replies (one JSON object per line on stdout):
  {"op": "ready", "version", "pid", "isolated", "runtimes"} once, at start; isolated: programs run
     under another uid than this process and init, so they cannot reach the channel; runtimes: what
     the image carries, [{"language", "version", "runtime"}], probed when it was built (`--runtimes`
     wrote RUNTIMES_FILE); pongs carry both too
  {"op": "case", "id", "index", <the fields of a result from exit_code to pids_limited>} as each test
     case ends, in order
  {"op": "output", "id", "stream": "stdout"|"stderr", "data" (base64)} while a run with "stream" goes on:
     the captured bytes in order (what the result then holds, never more), sent when FLUSH_BYTES have
     gathered or FLUSH_S after the first of them
  {"op": "result", "id", "exit_code", "signal", "timed_out", "cancelled", "output_limited",
   "stdout", "stderr" (base64, at most max_output_bytes each), "stdout_bytes", "stderr_bytes",
   "wall_ms", "cpu_ms", "max_rss_kb" (peak of the run), "oom_kills" and "pids_limited" (how often the
   container's OOM killer struck and its pids limit refused a fork during the run), "error",
   "results": [{"data": {mime: text}, "main"}] (display() calls, figures, a cell's last value; Python
   programs and cells), "results_note", "context": {"started", "reset"} (cells: why a fresh
   interpreter ran it, why it is gone after it), "compile": {"exit_code", "signal", "timed_out",
   "cancelled", "oom_kills", "wall_ms", "cpu_ms", "output" (base64)} (C, C++; nothing ran when it
   failed), "cases_run" (with cases: the result's own output and counters are then empty),
   "scan": {"entries", "truncated", "unlisted_files", "counted"} (asked for, and the scan did not fail)}
  {"op": "scanned", "id", "entries": [[path, kind, size, token]], "truncated", "unlisted_files", "counted"}
     past `limit` entries only regular files are counted (unlisted_files), while `counted` says the
     walk saw everything (it stops after COUNT_CAP entries)
     kind: f file, d directory, l symlink, o other, n a name that is not UTF-8; token changes with
     every write or metadata change (mtime, ctime, inode)
  {"op": "data", "id", "files": [{"path", "data" (base64), "size", "token", "eof"} | {"path", "error"}]}
  {"op": "wrote", "id", "files": [{"path", "size", "token"} | {"path", "error"}]}
  {"op": "removed", "id", "errors": [{"path", "error"}]}

Contexts: each is a long-lived interpreter of the sandbox user (Python forked from this executor,
JavaScript in node running context.js) with stdout/stderr on pipes read during its cells, cells in on
its fd 3 and their ends out on its fd 4. A time limit, cancel or output limit interrupts a cell with
SIGINT; one that does not recover within INTERRUPT_GRACE_S is killed with its interpreter.

Every run gets its own process group; when it ends (exit, wall-time limit, output limit, cancel) every
process it left behind is killed (the contexts' interpreters and what runs below them excepted): the executor is a child subreaper, so even double-forked daemons stay
its descendants and none survives into the next execution. Python runs in a child forked from this
already-initialised interpreter (it holds a copy of this process's memory, the run's own request
included, and none of its file descriptors); other languages are spawned.

File operations run only between runs, when no process of the sandbox user is alive, with the
sandbox user's rights (effective uid and gid 1000; the real and saved uid stay root's, so even then no
process of the user could signal or trace this one), so what they create belongs to the program and
nothing the program could not reach is reachable through them. Every path is resolved below
/workspace one component at a time with O_NOFOLLOW, so a symlink left by user code is never followed,
and nothing outside the workspace can be read or written through it.

Limits: SANDBOX_RLIMITS ("nofile=1024,fsize=1073741824,core=0") sets those rlimits, soft and hard, on
the executor at start, so every program inherits them and none can raise them: the container's
ulimits where the runtime has none (a Kubernetes pod).

Orphan bound: with SANDBOX_ORPHAN_AFTER_S set, the executor exits (and the container, auto-removed,
goes) when no request has come for that many seconds, killing the run in flight if any: the agent
pings every sandbox it holds well within that time, so only containers of an agent that is gone end
this way.

The agent still treats every reply as untrusted (the executor parses what user code wrote, and runs
under the user's rights when not isolated): it caps what it reads and reports a dead executor as a
lost sandbox.
"""

import atexit
import base64
import builtins
import ast
import contextlib
import ctypes
import fcntl
import importlib.util
import io
import json
import os
import resource
import select
import selectors
import shutil
import signal
import stat
import sys
import time
import traceback
import types

PROTOCOL_VERSION = 4
MAX_REQUEST_BYTES = 16 << 20
# data moved by one read or write request: bounds both sides' memory, and each reply line
MAX_IO_BYTES = 4 << 20
# rich results of one run (display, figures, a cell's value), as JSON
MAX_RESULTS_BYTES = 16 << 20
WORKSPACE = "/workspace"
# entries a scan walks at most (counting past its limit): bounds the time a huge workspace costs
COUNT_CAP = 1_000_000
READ_CHUNK = 65536
RUN_DIR = "/tmp/.sandbox"
JS_MAIN = os.path.join(RUN_DIR, "main.js")
# the image's sandbox user: every program runs as it when the executor runs as root
SANDBOX_UID = SANDBOX_GID = 1000
# what root needs to drop each program to the sandbox user and to kill whatever it leaves
NEEDED_CAPS = {"KILL": 5, "SETGID": 6, "SETUID": 7}
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/workspace",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
}
LANGUAGES = ("python", "javascript", "bash", "c", "cpp")
# compiled languages: the source's name and the compiler's command, both in RUN_DIR
COMPILERS = {
    "c": ("main.c", ["gcc", "-O2", "-pipe", "-std=gnu17", "-o", "main", "main.c", "-lm"]),
    "cpp": ("main.cpp", ["g++", "-O2", "-pipe", "-std=gnu++17", "-o", "main", "main.cpp", "-lm"]),
}
# the image's interpreters and compilers and their versions, written at build time by `--runtimes`
RUNTIMES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtimes.json")
# per language: the command that says its version, how to find the version in what it says, and its runtime's name
PROBES = {
    "python": (["python3", "--version"], r"Python (\S+)", "CPython"),
    "javascript": (["node", "--version"], r"v(\S+)", "Node.js"),
    "bash": (["bash", "--version"], r"version ([0-9.]+)", "GNU Bash"),
    "c": (["gcc", "-dumpfullversion"], r"(\S+)", "GCC"),
    "cpp": (["g++", "-dumpfullversion"], r"(\S+)", "GCC"),
}
# what a compiler said, kept for the result
COMPILE_OUTPUT_BYTES = 64 << 10
# the places a program can write, put back as they were after each test case
CASE_ROOTS = (WORKSPACE, "/tmp", "/dev/shm")
# file data of those places kept to put them back: a test-case run over it is refused
SNAPSHOT_MAX_BYTES = 64 << 20
CONTEXT_LANGUAGES = ("python", "javascript")
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)

RLIMITS = {"nofile": resource.RLIMIT_NOFILE, "fsize": resource.RLIMIT_FSIZE, "core": resource.RLIMIT_CORE}

_libc = ctypes.CDLL(None, use_errno=True)
# set once at start: programs run as the sandbox user, another uid than this process and init
ISOLATED = False
# set once at start from RUNTIMES_FILE
RUNTIMES = []


def send(msg):
    data = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        n = os.write(1, view)
        view = view[n:]


# a streamed run's output goes out in pieces of at most this, at most this long after it was read
FLUSH_BYTES = 32768
FLUSH_S = 0.02


class Capture:
    """Keeps the first `cap` bytes of a stream and counts all of them; with `name`, what it keeps is
    also sent as it comes, in "output" replies to the run `run_id`."""

    def __init__(self, cap, run_id=None, name=None):
        self.cap = cap
        self.data = bytearray()
        self.total = 0
        self.run_id = run_id
        self.name = name
        self.sent = 0
        self.since = None

    def feed(self, chunk):
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]
            if self.name and self.since is None:
                self.since = time.monotonic()
        return self.total > self.cap

    def flush_in(self):
        """Seconds until the unsent bytes are due; None when there are none."""
        return None if self.since is None else max(0.0, self.since + FLUSH_S - time.monotonic())

    def flush(self, force=False):
        while self.name and self.sent < len(self.data) and (force or len(self.data) - self.sent >= FLUSH_BYTES or self.flush_in() == 0):
            piece = bytes(self.data[self.sent : self.sent + FLUSH_BYTES])
            send({"op": "output", "id": self.run_id, "stream": self.name, "data": base64.b64encode(piece).decode()})
            self.sent += len(piece)
        if self.sent >= len(self.data):
            self.since = None


def descendants(root=None, spare=()):
    """Pids of every live process below `root` (this one), read from /proc; none in or below `spare`."""
    me = root or os.getpid()
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
        nxt = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in spare}
        found.extend(nxt)
        frontier = nxt
    return found


# (status, rusage) of children reaped by the sweep, so the run's own status is never lost to it
REAPED = {}


def reap():
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = (status, usage)


def wait_for(pid):
    """The run's wait status and resource usage (its own and its waited-for descendants')."""
    if pid in REAPED:
        return REAPED.pop(pid)
    try:
        _, status, usage = os.wait4(pid, 0)
        return status, usage
    except ChildProcessError:
        return REAPED.pop(pid)


# The container's own cgroup, v2 or v1 (the cgroup namespace shows it at the root): the OOM killer's
# count and the count of forks refused at the pids limit. Read before and after each run, their
# growth says which limit stopped it (an exec'd process's OOM never shows in State.OOMKilled).
CGROUP_COUNTERS = {
    "oom_kill": [("/sys/fs/cgroup/memory.events", "oom_kill"), ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill")],
    "pids_max": [("/sys/fs/cgroup/pids.events", "max"), ("/sys/fs/cgroup/pids/pids.events", "max")],
}


def cgroup_counters():
    counts = {}
    for name, places in CGROUP_COUNTERS.items():
        for path, key in places:
            try:
                with open(path) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == key:
                            counts[name] = int(v)
                break
            except (OSError, ValueError):
                continue
    return counts


def kill_everything(pgid):
    """SIGKILL the run's group and every descendant until none is left (forks race the sweep); the
    interpreters of the contexts and what runs below them live on."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    spare = {c.pid for c in CONTEXTS.values()}
    for _ in range(200):
        left = descendants(spare=spare)
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


def python_child(env, args):
    """Makes this freshly forked interpreter a new program's: its environment, argv, stdio (0, 1, 2) and
    an empty __main__, whose namespace is returned; `display` is a builtin (rich results, on fd 3)."""
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = ["-c", *args]
    sys.path[0] = ""
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8")
    # line-buffered: what a program printed before it was killed (timeout, limits) is not lost
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", line_buffering=True)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    builtins.display = display
    sys.meta_path.insert(0, PyplotHook())
    return main.__dict__


def run_python_in_child(code, env, args):
    """Runs `code` like `python3 -c code args...` would, in this freshly forked interpreter; never returns.
    What it displayed, and the figures it left open, go to fd 3 as one JSON list at its end."""
    exit_code = 0
    try:
        namespace = python_child(env, args)
        try:
            exec(compile(code, "<string>", "exec"), namespace)
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
            # before the exit functions: pyplot's closes every figure
            send_results(3, {"results": displayed()})
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


# ---- rich results (in the program's own interpreter: whatever it builds is its own) ----------------

# what `display` and the last expression of a cell gave, in order: [{"data": {mime: text}, "main"}]
DISPLAYED = []
# per representation: the method an object offers it by (IPython's names), and how its value is text
REPRS = (
    ("_repr_html_", "text/html", str),
    ("_repr_markdown_", "text/markdown", str),
    ("_repr_svg_", "image/svg+xml", str),
    ("_repr_png_", "image/png", lambda v: base64.b64encode(v).decode() if isinstance(v, bytes) else str(v)),
    ("_repr_jpeg_", "image/jpeg", lambda v: base64.b64encode(v).decode() if isinstance(v, bytes) else str(v)),
    ("_repr_latex_", "text/latex", str),
    ("_repr_json_", "application/json", lambda v: json.dumps(v)),
)


def mime_bundle(obj):
    """The representations of `obj`, as IPython finds them: _repr_mimebundle_, _repr_*_ methods, a
    matplotlib figure as PNG, and always text/plain."""
    bundle = {}
    if is_figure(obj):
        buf = io.BytesIO()
        obj.savefig(buf, format="png")
        bundle["image/png"] = base64.b64encode(buf.getvalue()).decode()
    if not isinstance(obj, type):
        method = getattr(obj, "_repr_mimebundle_", None)
        try:
            offered = method() if callable(method) else None
            data = offered[0] if isinstance(offered, tuple) else offered
            for mime, value in (data or {}).items():
                bundle[str(mime)] = value if isinstance(value, str) else json.dumps(value)
        except Exception:  # noqa: BLE001 - a broken representation is left out, never fatal
            pass
        for name, mime, as_text in REPRS:
            method = getattr(obj, name, None)
            if mime in bundle or not callable(method):
                continue
            try:
                value = method()
                if value is not None:
                    bundle[mime] = as_text(value[0] if isinstance(value, tuple) else value)
            except Exception:  # noqa: BLE001
                pass
    try:
        bundle["text/plain"] = repr(obj)
    except Exception as e:  # noqa: BLE001
        bundle["text/plain"] = f"<unrepresentable {type(obj).__name__}: {e}>"
    return bundle


def is_figure(obj):
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def display(*objs):
    """Shows each object as a rich result of the run (the notebook's display())."""
    for obj in objs:
        DISPLAYED.append({"data": mime_bundle(obj), "main": False})


def show_figures(*_args, **_kwargs):
    """pyplot.show(): every open figure becomes a result, then is closed (as a notebook's inline backend)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        display(plt.figure(num))
    plt.close("all")


def displayed():
    """The run's rich results so far, the figures it left open included; then none."""
    show_figures()
    results = list(DISPLAYED)
    DISPLAYED.clear()
    return results


class PyplotHook:
    """Import hook: pyplot's `show` is `show_figures` from the moment it is imported."""

    def find_spec(self, name, path, target=None):
        if name != "matplotlib.pyplot":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            module.show = show_figures

        spec.loader.exec_module = exec_module
        return spec


def send_results(fd, msg):
    """One JSON line on `fd`; a closed or full pipe loses the results, never the run."""
    try:
        data = (json.dumps(msg, separators=(",", ":"), default=repr) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except (OSError, ValueError):
        pass


def args_of(req):
    return [str(a) for a in req.get("args") or []]


def command_for(req):
    language = req["language"]
    if language == "python":
        return None
    args = args_of(req)
    if language in COMPILERS:
        return ["main", *args]
    if language == "javascript":
        # detect-module: a program with import/export runs as an ES module, any other as CommonJS
        return ["/usr/local/bin/node", "--experimental-detect-module", "--no-warnings", JS_MAIN, *args]
    # $0 is "bash", as for `bash -c code bash args...`
    return ["/bin/bash", "-c", req["code"], "bash", *args]


def write_program(name, code):
    """The program's file in RUN_DIR, written by the child as the sandbox user: /tmp is the user's, and
    whatever it left there (a symlink in place of the directory) leads nowhere the user could not write
    anyway."""
    os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
    with open(os.path.join(RUN_DIR, name), "w", encoding="utf-8") as f:
        f.write(code)


def become_sandbox_user():
    """Real, effective and saved ids all the sandbox user's: no capability is left, none can come back."""
    os.setgid(SANDBOX_GID)
    os.setuid(SANDBOX_UID)


@contextlib.contextmanager
def as_sandbox_user():
    """File operations on the program's behalf, with the sandbox user's rights: what they create is the
    program's, and nothing it could not reach is reachable through them."""
    if not ISOLATED:
        yield
        return
    os.setegid(SANDBOX_GID)
    os.seteuid(SANDBOX_UID)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def spawn(fds, cwd, what, body):
    """Forks a process of the sandbox user, the leader of a group of its own: the child gets `fds` as
    0, 1, 2, … and no other descriptor, then runs `body` (which never returns). Its pid."""
    pid = os.fork()
    if pid != 0:
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        return pid
    try:
        os.setpgid(0, 0)
        # above every target first: a source numbered like a target must not be overwritten before its turn
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, len(fds)) for fd in fds]
        for target, fd in enumerate(high):
            os.dup2(fd, target)
        os.closerange(len(fds), resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        for sig in (*FORWARDED_SIGNALS, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            # before the uid changes: then this process is not dumpable and its /proc files are root's
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # the run, never the executor, is the OOM killer's first choice
        except OSError:
            pass
        if ISOLATED:
            become_sandbox_user()
        os.chdir(cwd)
        body()
    except BaseException as e:  # noqa: BLE001
        os.write(2, f"sandbox: cannot start {what}: {e}\n".encode())
    os._exit(127)


def execv(argv, env):
    # a program started afresh gets SIGPIPE as any shell gives it (`yes | head` ends)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.execve(argv[0], argv, env)


def start(req, fds, image=None, compiler=None):
    """Forks the run; the child gets the pipes as 0/1/2, and as 3 Python its results pipe, a compiled
    program its binary (`image`, executed from that sealed memfd). With `compiler` (source name,
    command) the child compiles the code in RUN_DIR instead."""
    argv = command_for(req)
    env = child_env(req.get("env"))

    def body():
        if compiler is not None:
            source, command = compiler
            write_program(source, req["code"])
            os.chdir(RUN_DIR)
            execv([shutil.which(command[0], path=BASE_ENV["PATH"]) or command[0], *command[1:]], env)
        if image is not None:
            fcntl.fcntl(3, fcntl.F_SETFD, fcntl.FD_CLOEXEC)  # the program never holds its own binary
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            os.execve(3, ["main", *args_of(req)], env)
        if req["language"] == "javascript":
            write_program(os.path.basename(JS_MAIN), req["code"])
        if argv is None:
            run_python_in_child(req["code"], env, args_of(req))
        execv(argv, env)

    if compiler is None and argv is None:
        passed = fds
    else:
        passed = fds[:3] + (() if image is None else (image,))
    return spawn(passed, req.get("cwd") or WORKSPACE, req["language"], body)


# the request a standby reads: at most what a pipe holds, so handing it over never blocks the executor
STANDBY_REQUEST_BYTES = 60 << 10
# no request for this long: the executor is idle, and forks the next Python run's process meanwhile
IDLE_S = 0.003


class Standby:
    """The next Python run's process, forked while the executor is idle so that a run starts without
    the fork (about a millisecond): the sandbox user's, the leader of a group of its own, with its
    pipes as a run's, blocked reading the run's request (code, env, args, cwd) on fd 4 before anything
    of it runs. A standby that died or was stopped meanwhile (a run's sweep kills it; a context's code
    can signal it, same user) is dropped, and the run forks afresh."""

    def __init__(self):
        # a Python run came: the next one likely is one too
        self.wanted = False
        self.ready = None

    def prepare(self):
        if self.ready is not None or not self.wanted:
            return
        with as_sandbox_user():
            pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, results
        req_r, req_w = os.pipe()
        child_ends = (pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1], req_r)
        pid = spawn(child_ends, WORKSPACE, "python", standby_body)
        for fd in child_ends:
            os.close(fd)
        self.pid, self.pidfd, self.req_w = pid, os.pidfd_open(pid), req_w
        self.ends = (pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0])
        self.ready = True

    def take(self, req):
        """Self, still waiting and handed `req`'s run, or None (none ready, or the request too large)."""
        self.wanted = True
        if self.ready is None:
            return None
        self.ready = None
        self.payload = json.dumps({k: req.get(k) for k in ("code", "env", "args", "cwd")}).encode()
        if len(self.payload) <= STANDBY_REQUEST_BYTES and self.waiting():
            return self
        self.discard()
        return None

    def waiting(self):
        if select.select([self.pidfd], [], [], 0)[0]:
            return False  # exited
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        # still setting itself up (R) or blocked on its request (S); never stopped, never a zombie
        return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"T", b"t", b"Z", b"X", b"x")

    def start(self):
        """Hands the run over: its pid, pidfd and the parent's ends of its pipes; None when it died
        since `take` (the run then forks afresh)."""
        try:
            os.write(self.req_w, self.payload)
        except OSError:
            self.discard()
            return None
        os.close(self.req_w)
        return self.pid, self.pidfd, self.ends

    def discard(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        for fd in (self.req_w, self.pidfd, *self.ends):
            os.close(fd)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            REAPED.pop(self.pid, None)


def standby_body():
    """A standby's life once its run is handed over: the run's request from fd 4, then the program."""
    data = bytearray()
    while chunk := os.read(4, READ_CHUNK):
        data += chunk
    os.close(4)
    req = json.loads(data)
    os.chdir(req.get("cwd") or WORKSPACE)
    run_python_in_child(req["code"], child_env(req.get("env")), args_of(req))


STANDBY = Standby()


def lease_of(msg):
    """A lease's end in time.monotonic() seconds (the agent sends the host's CLOCK_MONOTONIC in ms), or None."""
    until = msg.get("lease_until_ms", msg.get("until_ms"))
    return until / 1000 if isinstance(until, (int, float)) and not isinstance(until, bool) else None


def signal_run(sig):
    """Sends sig to every process of the run; passes again for what was forked meanwhile."""
    for _ in range(3):
        for p in descendants():
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass


class Watch:
    """What a run watches besides its program: its wall-time limit, the lease from the agent (its fence
    deadline), and the agent's requests meanwhile. Past the lease, and until a later lease comes, every
    process of the sandbox is stopped, so a run whose agent hangs or is cut off never goes on beside the
    retry the reaper may start elsewhere; time stopped so does not count as the run's wall time."""

    def __init__(self, req, inbox):
        self.req = req
        self.inbox = inbox
        self.t0 = time.monotonic()
        self.deadline = self.t0 + int(req.get("timeout_ms") or 30000) / 1000
        self.lease = lease_of(req)
        self.stopped_at = None
        # why the run was stopped: timed_out, cancelled, output_limited
        self.stop_reason = None

    def tick(self, finished):
        """Stops everything at the lease's end; `finished`: nothing of the run is left to stop."""
        if self.lease is not None and self.stopped_at is None and not finished and not self.stop_reason and time.monotonic() >= self.lease:
            self.stopped_at = time.monotonic()
            signal_run(signal.SIGSTOP)

    def timeout(self, finished, *dues):
        """How long the next select may wait: until the time limit, the lease, or any of `dues`."""
        now = time.monotonic()
        timeout = None if self.stop_reason or self.stopped_at is not None else max(0.0, self.deadline - now)
        if self.lease is not None and self.stopped_at is None and not finished and not self.stop_reason:
            timeout = max(0.0, self.lease - now) if timeout is None else min(timeout, max(0.0, self.lease - now))
        for due in (self.inbox.orphan_in(), *dues):
            if due is not None:
                timeout = due if timeout is None else min(timeout, due)
        return timeout

    def timed_out(self, events):
        return not events and not self.stop_reason and self.stopped_at is None and time.monotonic() >= self.deadline

    def control(self, sel):
        """Reads the agent's requests: renews the lease (resuming a stopped run), answers pings, keeps
        the rest for later. True when the agent cancels this run."""
        msgs = self.inbox.read()
        if self.inbox.closed:
            sel.unregister(0)
        cancelled = False
        for msg in msgs:
            if msg.get("op") == "cancel" and msg.get("id") == self.req.get("id"):
                cancelled = not self.stop_reason
            elif msg.get("op") == "lease":
                renewed = lease_of(msg)
                if renewed is not None and (self.lease is None or renewed > self.lease):
                    self.lease = renewed
                    # the next run of the same request (a test case) starts with it
                    self.req["lease_until_ms"] = renewed * 1000
                if self.stopped_at is not None and self.lease > time.monotonic():
                    paused = time.monotonic() - self.stopped_at
                    self.deadline += paused
                    self.t0 += paused
                    self.stopped_at = None
                    signal_run(signal.SIGCONT)
            elif msg.get("op") == "ping":
                pong(msg)
            elif msg.get("op") == "context_stop" and msg.get("context_id") != (self.req.get("context") or {}).get("id"):
                stop_context(msg)  # another context's interpreter: no need to wait for this run
            else:
                self.inbox.pending.append(msg)
        return cancelled

    def wall_ms(self):
        return round((time.monotonic() - self.t0) * 1000, 3)


def captures(req):
    cap = int(req.get("max_output_bytes") or 1 << 20)
    streamed = bool(req.get("stream"))
    return Capture(cap, req.get("id"), "stdout" if streamed else None), Capture(cap, req.get("id"), "stderr" if streamed else None)


def result_of(req, watch, out, err, counters_before, **fields):
    """The result message: the stop reason, output and counters of the run, and `fields`."""
    counters_after = cgroup_counters()
    grew = lambda name: counters_after.get(name, 0) - counters_before.get(name, 0)  # noqa: E731
    out.flush(force=True)
    err.flush(force=True)
    # bounded as the reply carries them (escaped), so the agent's line limit holds
    if len(json.dumps(fields.get("results") or [])) > MAX_RESULTS_BYTES:
        fields.update(results=[], results_note=f"the rich results were over {MAX_RESULTS_BYTES} bytes and were dropped")
    return {
        "op": "result",
        "id": req.get("id"),
        "timed_out": watch.stop_reason == "timed_out",
        "cancelled": watch.stop_reason == "cancelled",
        "output_limited": watch.stop_reason == "output_limited",
        "stdout": base64.b64encode(out.data).decode(),
        "stderr": base64.b64encode(err.data).decode(),
        "stdout_bytes": out.total,
        "stderr_bytes": err.total,
        "wall_ms": watch.wall_ms(),
        "oom_kills": max(0, grew("oom_kill")),
        "pids_limited": max(0, grew("pids_max")),
        "error": None,
        **fields,
    }


def exit_fields(status):
    exit_code = os.waitstatus_to_exitcode(status)
    return {"exit_code": exit_code if exit_code >= 0 else None, "signal": -exit_code if exit_code < 0 else None}


class Results:
    """The rich results a program sends on its results pipe: one JSON line, at most MAX_RESULTS_BYTES."""

    def __init__(self):
        self.data = bytearray()
        self.over = False

    def feed(self, chunk):
        if len(self.data) + len(chunk) > MAX_RESULTS_BYTES:
            self.over = True
        else:
            self.data += chunk

    def parsed(self):
        """The results, and a note when some were lost (over the cap, or not well formed)."""
        if self.over:
            return [], f"the rich results were over {MAX_RESULTS_BYTES} bytes and were dropped"
        if not self.data:
            return [], None
        try:
            msg = json.loads(self.data)
            return [r for r in msg.get("results") or [] if isinstance(r, dict)], None
        except (ValueError, AttributeError):
            return [], "the rich results were not well formed and were dropped"


def execute(req, inbox, image=None, compiler=None):
    """Runs one program to the end and returns its result message. Python programs get a results pipe
    (fd 3) for `display`; everything left running when the program ends is killed."""
    watch = Watch(req, inbox)
    out, err = captures(req)
    results = Results()
    python = req["language"] == "python" and compiler is None
    standby = STANDBY.take(req) if python else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    counters_before = cgroup_counters()
    handed = standby.start() if standby is not None else None
    if handed is not None:
        pid, pidfd, (in_w, out_r, err_r, res_r) = handed
    else:
        # a pipe belongs to whoever made it: the program may reopen its own stdio (/dev/stdout, /dev/stdin)
        with as_sandbox_user():
            in_r, in_w = os.pipe()
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            res_r, res_w = os.pipe() if python else (-1, -1)
        pid = start(req, (in_r, out_w, err_w, res_w) if python else (in_r, out_w, err_w), image, compiler)
        for fd in (in_r, out_w, err_w, res_w):
            if fd >= 0:
                os.close(fd)
        pidfd = os.pidfd_open(pid)
    stdin_data = memoryview(base64.b64decode(req["stdin_base64"]) if req.get("stdin_base64") else (req.get("stdin") or "").encode("utf-8", "surrogateescape"))
    sel = selectors.DefaultSelector()
    sel.register(out_r, selectors.EVENT_READ, out)
    sel.register(err_r, selectors.EVENT_READ, err)
    if python:
        sel.register(res_r, selectors.EVENT_READ, results)
    sel.register(pidfd, selectors.EVENT_READ, "exit")
    sel.register(0, selectors.EVENT_READ, "control")
    if stdin_data:
        os.set_blocking(in_w, False)
        sel.register(in_w, selectors.EVENT_WRITE, "stdin")
    else:
        os.close(in_w)
        in_w = -1
    status = usage = None
    open_streams = 3 if python else 2

    def close_stdin():
        nonlocal in_w
        if in_w >= 0:
            sel.unregister(in_w)
            os.close(in_w)
            in_w = -1

    def stop(reason):
        watch.stop_reason = reason
        close_stdin()
        kill_everything(pid)

    while open_streams or status is None:
        if inbox.orphaned():
            kill_everything(pid)
            leave_orphaned(inbox)
        watch.tick(status is not None)
        events = sel.select(watch.timeout(status is not None, out.flush_in(), err.flush_in()))
        if watch.timed_out(events):
            stop("timed_out")
            continue
        for key, _ in events:
            what = key.data
            if what == "exit":
                status, usage = wait_for(pid)
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
                if watch.control(sel):
                    stop("cancelled")
            else:
                chunk = os.read(key.fd, READ_CHUNK)
                if not chunk:
                    sel.unregister(key.fd)
                    os.close(key.fd)
                    open_streams -= 1
                elif what.feed(chunk) and not watch.stop_reason:
                    stop("output_limited")
        out.flush()
        err.flush()
    sel.close()
    REAPED.clear()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of everything the run started: the orphans this executor reaped count too
    cpu_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
    rich, note = results.parsed()
    return result_of(req, watch, out, err, counters_before, **exit_fields(status), cpu_ms=round(cpu_ms, 3), max_rss_kb=usage.ru_maxrss, results=rich, results_note=note)


def run(req, inbox):
    """A run request to its result: a cell, a program, or a program against test cases; C and C++ are
    compiled first, once, however many cases there are."""
    if req.get("context"):
        return execute_cell(req, inbox)
    image, build = None, None
    if req["language"] in COMPILERS:
        build, image = compile_program(req, inbox)
        if image is None:
            return nothing_ran(req, build)
    try:
        if req.get("cases") is not None:
            return run_cases(req, inbox, image, build)
        return {**execute(req, inbox, image=image), "compile": build}
    finally:
        if image is not None:
            os.close(image)


def nothing_ran(req, build, **fields):
    """The result of a run whose program did not run (its compile failed) or ran only as test cases."""
    return {
        "op": "result", "id": req.get("id"), "exit_code": None, "signal": None, "timed_out": False,
        "cancelled": bool(build and build["cancelled"]), "output_limited": False, "stdout": "", "stderr": "",
        "stdout_bytes": 0, "stderr_bytes": 0, "wall_ms": 0, "cpu_ms": 0, "max_rss_kb": 0, "oom_kills": 0,
        "pids_limited": 0, "error": None, "compile": build, **({"cases_run": 0} if req.get("cases") is not None else {}), **fields,
    }


def compile_program(req, inbox):
    """Compiles the code as the sandbox user within the run's own time limit. The compiler's report
    ("compile": its end, its output as base64), and the binary as a sealed memfd (None when it failed):
    no program can change it, so every test case runs the same one."""
    creq = {k: req[k] for k in ("id", "language", "code", "env", "timeout_ms", "lease_until_ms") if k in req}
    creq["max_output_bytes"] = COMPILE_OUTPUT_BYTES
    r = execute(creq, inbox, compiler=COMPILERS[req["language"]])
    if "lease_until_ms" in creq:
        req["lease_until_ms"] = creq["lease_until_ms"]
    output = (base64.b64decode(r["stdout"]) + base64.b64decode(r["stderr"]))[:COMPILE_OUTPUT_BYTES]
    build = {key: r[key] for key in ("exit_code", "signal", "timed_out", "cancelled", "wall_ms", "cpu_ms", "oom_kills")}
    build["output"] = base64.b64encode(output).decode()
    image = None
    if r["exit_code"] == 0 and not (r["timed_out"] or r["cancelled"] or r["output_limited"]):
        try:
            image = load_image(os.path.join(RUN_DIR, "main"))
        except OSError as e:
            build.update(exit_code=None, output=base64.b64encode(output + f"sandbox: the compiled program could not be loaded: {problem(e)}\n".encode()).decode())
    with as_sandbox_user():
        for name in ("main", COMPILERS[req["language"]][0]):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(RUN_DIR, name))
    return build, image


def load_image(path):
    """A sealed in-memory copy of the sandbox user's file at `path`: executable (/tmp is noexec), and
    never writable again by anyone."""
    with as_sandbox_user():
        src = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(src).st_mode):
            raise OSError(0, "not a regular file")
        image = os.memfd_create("main", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        while os.sendfile(image, src, None, 1 << 20):
            pass
        fcntl.fcntl(image, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
        return image
    finally:
        os.close(src)


def run_cases(req, inbox, image, build):
    """Runs the program once per test case, each with its own stdin, arguments and time limit, and sends
    each case's end ("case") as it comes. Cases share nothing: each run is a process group of its own,
    killed with everything it started, and after each the files of the workspace, /tmp and /dev/shm are
    put back as the first case found them (the workspace ends as it began)."""
    try:
        with as_sandbox_user():
            snapshot = Snapshot()
    except (OSError, ValueError) as e:
        return {"op": "result", "id": req.get("id"), "error": f"test cases cannot run: {problem(e)}"}
    t0 = time.monotonic()
    # the time all cases may take together: the cases past it do not run, and a case that would pass
    # it is stopped there (time stopped at a lease's end is not counted)
    budget = int(req.get("cases_budget_ms") or 3600_000) / 1000
    spent = 0.0
    ran, cancelled = 0, False
    for index, case in enumerate(req["cases"]):
        if spent >= budget:
            break
        creq = {k: req[k] for k in ("id", "language", "code", "env", "max_output_bytes", "cwd", "lease_until_ms") if k in req}
        creq.update({k: case[k] for k in ("stdin", "stdin_base64", "args") if k in case})
        creq["timeout_ms"] = min(int(case.get("timeout_ms") or 30000), max(1, int((budget - spent) * 1000)))
        r = execute(creq, inbox, image=image)
        spent += r["wall_ms"] / 1000
        if "lease_until_ms" in creq:
            req["lease_until_ms"] = creq["lease_until_ms"]
        try:
            with as_sandbox_user():
                snapshot.restore()
        except (OSError, ValueError) as e:
            return {"op": "result", "id": req.get("id"), "error": f"the files test case {index} left could not be cleared: {problem(e)}"}
        if r["cancelled"]:
            cancelled = True
            break
        r.pop("results", None)
        r.pop("results_note", None)
        send({**r, "op": "case", "index": index})
        ran += 1
    return nothing_ran(req, build, cancelled=cancelled, cases_run=ran, wall_ms=round((time.monotonic() - t0) * 1000, 3))


def walk(roots):
    """(path, lstat) of every entry below `roots`, parents before children; no symlink followed, no
    recursion. A directory the sandbox user made unreadable is made readable to it (its owner) first."""
    stack = list(reversed(roots))
    while stack:
        where = stack.pop()
        try:
            names = sorted(os.listdir(where), reverse=True)
        except FileNotFoundError:
            continue
        except PermissionError:
            os.chmod(where, 0o700)
            names = sorted(os.listdir(where), reverse=True)
        for name in names:
            path = os.path.join(where, name)
            st = os.lstat(path)
            yield path, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(path)


def read_own(path, st):
    """The data of a file of the sandbox user's, made readable for the read if it was not."""
    if not st.st_mode & stat.S_IRUSR:
        os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IRUSR)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        if not st.st_mode & stat.S_IRUSR:
            os.chmod(path, stat.S_IMODE(st.st_mode))


def remove_tree(path):
    """Removes `path` and everything below it (directories the user made unreadable included)."""
    stack = [path]
    while stack:
        top = stack[-1]
        st = os.lstat(top)
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(top)
            stack.pop()
            continue
        os.chmod(top, 0o700)
        names = os.listdir(top)
        if not names:
            os.rmdir(top)
            stack.pop()
        stack.extend(os.path.join(top, n) for n in names)


class Snapshot:
    """The entries of CASE_ROOTS and the data of their files, taken as the sandbox user: `restore`
    removes what appeared since, and rewrites what changed or went."""

    def __init__(self):
        self.entries = {}
        self.roots = {root: stat.S_IMODE(os.lstat(root).st_mode) for root in CASE_ROOTS if os.path.isdir(root)}
        kept = 0
        for path, st in walk(list(self.roots)):
            data = None
            if stat.S_ISREG(st.st_mode):
                kept += st.st_size
                if kept > SNAPSHOT_MAX_BYTES:
                    raise ValueError(f"the workspace, /tmp and /dev/shm hold more than {SNAPSHOT_MAX_BYTES >> 20} MiB of files, which each case would get back")
                data = read_own(path, st)
            elif stat.S_ISLNK(st.st_mode):
                data = os.readlink(path)
            elif not stat.S_ISDIR(st.st_mode):
                continue  # fifos and sockets: a case finds none of another's (they go), nor these
            self.entries[path] = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), token_of(st), data]

    def restore(self):
        present = dict(walk(list(self.roots)))
        for path, st in present.items():
            kept = self.entries.get(path)
            if kept is not None and kept[0] == stat.S_IFMT(st.st_mode):
                continue
            if os.path.lexists(path):
                remove_tree(path)
        # directories are writable while their entries come back, and get their own mode after
        dirs = []
        for path, kept in self.entries.items():
            kind, mode, token, data = kept
            st = present.get(path)
            if st is not None and stat.S_IFMT(st.st_mode) == kind and token_of(st) == token and stat.S_IMODE(st.st_mode) == mode:
                continue
            if kind == stat.S_IFDIR:
                if st is None:
                    os.mkdir(path, 0o700)
                os.chmod(path, 0o700)
                dirs.append((path, kept))
                continue
            if os.path.lexists(path):
                os.unlink(path)
            if kind == stat.S_IFLNK:
                os.symlink(data, path)
            else:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fchmod(fd, mode)
                finally:
                    os.close(fd)
            kept[2] = token_of(os.lstat(path))
        for path, kept in reversed(dirs):
            os.chmod(path, kept[1])
            kept[2] = token_of(os.lstat(path))
        for root, mode in self.roots.items():
            if stat.S_IMODE(os.lstat(root).st_mode) != mode:
                os.chmod(root, mode)


# ---- interpreter contexts: a notebook's kernel, one per context id ---------------------------------

# a cell that does not recover from its interrupt this long after it is killed with its interpreter
INTERRUPT_GRACE_S = 2.0
JS_CONTEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "context.js")
# live interpreters by context id
CONTEXTS = {}
# why the interpreter of a context is gone (its last cell reset it): the next cell says so
RESETS = {}


def run_cell(code, namespace):
    """Runs a cell as a notebook does: its statements, then its last expression, whose value (unless
    None) is the cell's main result. Its exit code: 0, 1 after an exception (its traceback printed),
    or what SystemExit asked (the interpreter lives on)."""
    try:
        tree = ast.parse(code, "<cell>", "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                namespace["_"] = value
                DISPLAYED.append({"data": mime_bundle(value), "main": True})
        return 0, None
    except SystemExit as e:
        return exit_status(e.code), None
    except BaseException as e:  # noqa: BLE001 - shown as the notebook shows it; the interpreter lives on
        tb = e.__traceback__.tb_next if e.__traceback__ else None
        traceback.print_exception(type(e), e, tb)
        return 1, {"name": type(e).__name__, "value": str(e)[:4096]}


def run_python_context(env):
    """The interpreter of a Python context, in the forked child: cells come as JSON lines on fd 3,
    each answered on fd 4 when it is done; SIGINT interrupts the running cell (KeyboardInterrupt)."""
    namespace = python_child(env, [])
    requests = os.fdopen(3, "rb")
    while True:
        try:
            line = requests.readline()
        except KeyboardInterrupt:
            continue  # an interrupt between cells interrupts nothing
        if not line:
            os._exit(0)
        done = {"op": "done"}
        try:
            done["exit_code"], done["error"] = run_cell(json.loads(line)["code"], namespace)
            done["results"] = displayed()
        except KeyboardInterrupt:
            # it came after the cell: the cell is done all the same
            done.setdefault("exit_code", 1)
            done.setdefault("error", {"name": "KeyboardInterrupt", "value": ""})
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        send_results(4, done)


class Context:
    """A live interpreter of one context: Python forked from this executor, JavaScript in node running
    context.js. It runs as the sandbox user in a group of its own, with stdin /dev/null, stdout and
    stderr on pipes read while its cells run, cells in on fd 3 and their ends out on fd 4."""

    def __init__(self, cid, generation, language, env):
        self.id = cid
        self.generation = generation
        with as_sandbox_user():
            req_r, self.req_w = os.pipe()
            self.rep_r, rep_w = os.pipe()
            self.out_r, out_w = os.pipe()
            self.err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        env = child_env(env)
        body = (lambda: run_python_context(env)) if language == "python" else (lambda: execv(["/usr/local/bin/node", "--no-warnings", JS_CONTEXT], env))
        self.pid = spawn((null, out_w, err_w, req_r, rep_w), WORKSPACE, f"a {language} context", body)
        for fd in (null, out_w, err_w, req_r, rep_w):
            os.close(fd)
        for fd in (self.req_w, self.rep_r, self.out_r, self.err_r):
            os.set_blocking(fd, False)
        self.pidfd = os.pidfd_open(self.pid)
        self.status = None

    def alive(self):
        if self.status is None and select.select([self.pidfd], [], [], 0)[0]:
            self.status = self.reaped()
        return self.status is None

    def reaped(self):
        """Its wait status once it exited (-1: a sweep reaped it and the status is gone)."""
        if self.pid in REAPED:
            return REAPED.pop(self.pid)[0]
        try:
            return os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            return -1

    def usage(self):
        """CPU seconds of the interpreter and its waited-for children, and its peak memory (kB)."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{self.pid}/status") as f:
                peak = next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
            return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK"), peak
        except (OSError, ValueError, IndexError):
            return 0.0, 0

    def discard_output(self):
        """What background work printed since the last cell belongs to no cell."""
        for fd in (self.out_r, self.err_r, self.rep_r):
            with contextlib.suppress(BlockingIOError, OSError):
                while os.read(fd, READ_CHUNK):
                    pass

    def kill(self):
        """Kills the interpreter and everything below it: stopped first, so nothing forks meanwhile."""
        tree = descendants(self.pid)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in [self.pid, *tree, *descendants(self.pid)]:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.status is None:
            self.status = self.reaped()

    def stop(self):
        """Kills it, and forgets it."""
        self.kill()
        for fd in (self.req_w, self.rep_r, self.out_r, self.err_r, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)
        CONTEXTS.pop(self.id, None)


def context_for(req):
    """The live interpreter of the request's context, started (again) when it has none, when it died,
    or when the agent asks for a newer generation (a restart); and why it was started afresh."""
    asked = req["context"]
    ctx = CONTEXTS.get(asked.get("id"))
    why = None
    if ctx is not None and ctx.generation != asked.get("generation"):
        ctx.stop()
        ctx, why = None, "restarted as asked"
    elif ctx is not None and not ctx.alive():
        ctx.stop()
        ctx, why = None, "its interpreter had exited"
    reset = RESETS.pop(asked.get("id"), None)
    if ctx is None:
        ctx = Context(asked.get("id"), asked.get("generation"), req["language"], req.get("env"))
        CONTEXTS[ctx.id] = ctx
        why = why or (f"its interpreter was reset ({reset})" if reset else "first cell")
    else:
        ctx.discard_output()
    return ctx, why


def execute_cell(req, inbox):
    """Runs one cell in its context's interpreter. A time limit, cancel or output limit interrupts it
    (SIGINT: KeyboardInterrupt in Python); one that does not recover within INTERRUPT_GRACE_S is killed
    with its interpreter, and the result says the context was reset, as when the cell ends its
    interpreter (exit, memory limit): the next cell starts a fresh one."""
    ctx, started = context_for(req)
    watch = Watch(req, inbox)
    out, err = captures(req)
    counters_before = cgroup_counters()
    cpu_before, _ = ctx.usage()
    cell = memoryview((json.dumps({"code": req["code"]}) + "\n").encode())
    reply, done = bytearray(), None
    interrupt_until = None
    sel = selectors.DefaultSelector()
    sel.register(ctx.out_r, selectors.EVENT_READ, out)
    sel.register(ctx.err_r, selectors.EVENT_READ, err)
    sel.register(ctx.rep_r, selectors.EVENT_READ, "reply")
    sel.register(ctx.req_w, selectors.EVENT_WRITE, "cell")
    sel.register(ctx.pidfd, selectors.EVENT_READ, "exit")
    sel.register(0, selectors.EVENT_READ, "control")

    def stop(reason):
        nonlocal interrupt_until
        watch.stop_reason = reason
        interrupt_until = time.monotonic() + INTERRUPT_GRACE_S
        with contextlib.suppress(OSError):
            os.kill(ctx.pid, signal.SIGINT)

    while done is None and ctx.alive():
        if inbox.orphaned():
            ctx.stop()
            leave_orphaned(inbox)
        watch.tick(False)
        grace = None if interrupt_until is None or watch.stopped_at is not None else max(0.0, interrupt_until - time.monotonic())
        events = sel.select(watch.timeout(False, out.flush_in(), err.flush_in(), grace))
        if watch.timed_out(events):
            stop("timed_out")
            continue
        if interrupt_until is not None and watch.stopped_at is None and time.monotonic() >= interrupt_until:
            ctx.kill()  # did not recover: gone with everything it ran
            break
        for key, _ in events:
            what = key.data
            if what == "cell":
                try:
                    cell = cell[os.write(ctx.req_w, cell) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    cell = b""  # the interpreter is gone: its exit ends the cell
                if not cell:
                    sel.unregister(ctx.req_w)
            elif what == "reply":
                with contextlib.suppress(BlockingIOError):
                    reply += os.read(ctx.rep_r, READ_CHUNK)
                if b"\n" in reply or len(reply) > MAX_RESULTS_BYTES:
                    done = reply
            elif what == "control":
                if watch.control(sel):
                    stop("cancelled")
            elif what != "exit":
                with contextlib.suppress(BlockingIOError):
                    chunk = os.read(key.fd, READ_CHUNK)
                    if what.feed(chunk) and not watch.stop_reason:
                        stop("output_limited")
        out.flush()
        err.flush()
    sel.close()
    # what the cell printed before it ended is in the pipes already (flushed before its end was sent)
    for fd, capture in ((ctx.out_r, out), (ctx.err_r, err)):
        with contextlib.suppress(BlockingIOError, OSError):
            for chunk in iter(lambda fd=fd: os.read(fd, READ_CHUNK), b""):
                capture.feed(chunk)
    cpu_after, peak_kb = ctx.usage()
    fields = {"cpu_ms": round(max(0.0, cpu_after - cpu_before) * 1000, 3), "max_rss_kb": peak_kb, "results": [], "results_note": None}
    cell_end = None
    if done is not None:
        try:
            cell_end = json.loads(bytes(done[: done.index(b"\n")]))
        except ValueError:
            fields["results_note"] = "the cell's results were over the cap or not well formed and were dropped"
            cell_end = {}
    if ctx.alive() and cell_end is not None:
        code = cell_end.get("exit_code")
        fields.update(exit_code=code if isinstance(code, int) and 0 <= code <= 255 else 1, signal=None)
        fields["results"] = [r for r in cell_end.get("results") or [] if isinstance(r, dict)]
        reset = None
    else:
        ctx.stop()
        fields.update(exit_fields(ctx.status) if ctx.status >= 0 else {"exit_code": None, "signal": int(signal.SIGKILL)})
        reset = "it did not recover from the interrupt" if watch.stop_reason else "its interpreter exited"
        RESETS[ctx.id] = reset
    fields["context"] = {"started": started, "reset": reset}
    return result_of(req, watch, out, err, counters_before, **fields)


def stop_context(req):
    ctx = CONTEXTS.get(req.get("context_id"))
    RESETS.pop(req.get("context_id"), None)
    if ctx is not None:
        ctx.stop()
    send({"op": "context_stopped", "id": req.get("id"), "existed": ctx is not None})


# ---- workspace files ----------------------------------------------------------------------------


def rel_parts(path):
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\0" in path:
        raise ValueError("invalid path")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError("invalid path")
    return parts


def open_parent(parts, create):
    """An fd of the directory that holds the last component, no symlink followed on the way."""
    fd = os.open(WORKSPACE, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in parts[:-1]:
            if create:
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_beneath(path, flags, create=False):
    parts = rel_parts(path)
    parent = open_parent(parts, create)
    try:
        # O_NONBLOCK: opening a FIFO must not hang the executor; it is refused below as not a file
        fd = os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644, dir_fd=parent)
    finally:
        os.close(parent)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OSError("not a regular file")
    os.set_blocking(fd, True)
    return fd


def token_of(st):
    return f"{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def problem(e):
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


def scan(req):
    send({"op": "scanned", "id": req.get("id"), **scan_workspace(req.get("limit"))})


def scan_workspace(limit):
    """Lists at most `limit` entries; past that only counts the regular files (up to COUNT_CAP entries)."""
    limit = max(0, int(limit or 0))
    entries, unlisted, visited, counted = [], 0, 0, True
    stack = [("", WORKSPACE)]
    while stack:
        rel, where = stack.pop()
        try:
            found = sorted(os.scandir(where), key=lambda e: e.name)
        except OSError:
            continue
        for e in found:
            visited += 1
            if visited > COUNT_CAP:
                counted, stack = False, []
                break
            path = f"{rel}/{e.name}" if rel else e.name
            if len(entries) >= limit:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append((path, e.path))
                    elif e.is_file(follow_symlinks=False):
                        unlisted += 1
                except OSError:
                    pass
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            mode = st.st_mode
            kind = "f" if stat.S_ISREG(mode) else "d" if stat.S_ISDIR(mode) else "l" if stat.S_ISLNK(mode) else "o"
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                kind = "n"
            shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if kind == "n" else path
            entries.append([shown, kind, st.st_size, token_of(st)])
            if kind == "d":
                stack.append((path, e.path))
    return {"entries": entries, "truncated": len(entries) >= limit and (unlisted > 0 or not counted), "unlisted_files": unlisted, "counted": counted}


def read_files(req):
    budget = MAX_IO_BYTES
    out = []
    for f in req.get("files") or []:
        path = f.get("path")
        try:
            fd = open_beneath(path, os.O_RDONLY)
            try:
                st = os.fstat(fd)
                offset = int(f.get("offset") or 0)
                want = min(int(f.get("length") if f.get("length") is not None else budget), budget)
                chunks, got = [], 0
                while got < want:
                    chunk = os.pread(fd, want - got, offset + got)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    got += len(chunk)
                budget -= got
                data = b"".join(chunks)
                out.append({"path": path, "data": base64.b64encode(data).decode(), "size": st.st_size,
                            "token": token_of(st), "eof": offset + got >= st.st_size})
            finally:
                os.close(fd)
        except (OSError, ValueError) as e:
            out.append({"path": path, "error": problem(e)})
    send({"op": "data", "id": req.get("id"), "files": out})


def write_files(req):
    out = []
    for f in req.get("files") or []:
        path = f.get("path")
        try:
            offset = int(f.get("offset") or 0)
            data = base64.b64decode(f.get("data") or "", validate=True)
            fd = open_beneath(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if offset == 0 else 0), create=True)
            try:
                view = memoryview(data)
                while view:
                    n = os.pwrite(fd, view, offset)
                    view, offset = view[n:], offset + n
                item = {"path": path}
                if f.get("last"):
                    st = os.fstat(fd)
                    item.update(size=st.st_size, token=token_of(st))
                out.append(item)
            finally:
                os.close(fd)
        except (OSError, ValueError) as e:
            out.append({"path": path, "error": problem(e)})
    send({"op": "wrote", "id": req.get("id"), "files": out})


def remove_paths(req):
    errors = []
    for path in req.get("paths") or []:
        try:
            parts = rel_parts(path)
            parent = open_parent(parts, False)
            try:
                os.unlink(parts[-1], dir_fd=parent)
            finally:
                os.close(parent)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            errors.append({"path": path, "error": problem(e)})
    send({"op": "removed", "id": req.get("id"), "errors": errors})


def wipe(req):
    errors = []
    for e in os.scandir(WORKSPACE):
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)  # fd-based on Linux: symlinks inside are removed, not followed
            else:
                os.unlink(e.path)
        except OSError as err:
            errors.append({"path": e.name, "error": problem(err)})
    send({"op": "removed", "id": req.get("id"), "errors": errors})


FILE_OPS = {"scan": scan, "read": read_files, "write": write_files, "remove": remove_paths, "wipe": wipe}


class Inbox:
    """Reads request lines from stdin; keeps what arrives during a run for afterwards, and when the
    last request came (the orphan bound: `orphan_after` seconds without one, 0 for no bound)."""

    def __init__(self, orphan_after):
        self.buf = bytearray()
        self.pending = []
        self.closed = False
        self.orphan_after = orphan_after
        self.last_contact = time.monotonic()

    def orphan_in(self):
        """Seconds left before this executor counts as orphaned; None without a bound."""
        if not self.orphan_after:
            return None
        return max(0.0, self.last_contact + self.orphan_after - time.monotonic())

    def orphaned(self):
        """Past the bound with no request waiting either: a container frozen for longer (docker pause)
        finds the pings its agent sent meanwhile waiting when it thaws, and lives on."""
        if self.orphan_in() != 0:
            return False
        return self.closed or not select.select([0], [], [], 0)[0]

    def read(self):
        chunk = os.read(0, READ_CHUNK)
        if not chunk:
            self.closed = True
            return []
        self.last_contact = time.monotonic()
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

    def next(self, idle=None):
        """The next request; `idle` runs once if none comes within IDLE_S (work kept off the runs' path)."""
        while not self.pending:
            if self.closed:
                return None
            while True:
                wait = self.orphan_in()
                if idle is not None:
                    wait = IDLE_S if wait is None else min(wait, IDLE_S)
                if select.select([0], [], [], wait)[0]:
                    break
                if idle is not None:
                    idle()
                    idle = None
                elif self.orphaned():
                    leave_orphaned(self)
            self.pending.extend(self.read())
        return self.pending.pop(0)


def leave_orphaned(inbox):
    """No agent asked anything within the bound: none holds this sandbox any more. Init exits with this
    process, the kernel kills whatever else is left in the container, and Docker removes it."""
    os.write(2, f"sandbox executor: no request for {inbox.orphan_after:g} s, no agent holds this sandbox: exiting\n".encode())
    os._exit(0)


def isolation():
    """True when programs can run as the sandbox user, another uid than this process: started as root
    with the capabilities for it. Root without them exits rather than run programs as root."""
    if os.geteuid() != 0:
        return False
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    effective = int(status["CapEff"], 16)
    missing = [name for name, bit in NEEDED_CAPS.items() if not effective >> bit & 1]
    if missing:
        sys.exit(f"sandbox executor: started as root without CAP_{', CAP_'.join(missing)}: refusing to run programs as root")
    # no supplementary group of root's, for the file operations nor for the programs
    os.setgroups([])
    return True


def pong(msg):
    send({"op": "pong", "id": msg.get("id"), "version": PROTOCOL_VERSION, "isolated": ISOLATED, "runtimes": RUNTIMES})


def probe_runtimes():
    """The languages this image runs and their versions, as their own commands say them (build time)."""
    import re
    import subprocess

    found = []
    for language, (command, pattern, runtime) in PROBES.items():
        path = shutil.which(command[0], path=BASE_ENV["PATH"])
        if path is None:
            continue
        said = subprocess.run([path, *command[1:]], capture_output=True, text=True, check=True)
        match = re.search(pattern, said.stdout + said.stderr)
        if match:
            found.append({"language": language, "version": match.group(1), "runtime": runtime})
    return found


def image_runtimes():
    try:
        with open(RUNTIMES_FILE) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def handle(msg, inbox):
    op = msg.get("op")
    if op == "ping":
        pong(msg)
    elif op == "run":
        if msg.get("language") not in LANGUAGES or not isinstance(msg.get("code"), str):
            send({"op": "result", "id": msg.get("id"), "error": f"unsupported request: language must be one of {LANGUAGES}"})
            return
        if msg.get("context") and (msg["language"] not in CONTEXT_LANGUAGES or not isinstance(msg["context"], dict)):
            send({"op": "result", "id": msg.get("id"), "error": f"unsupported request: contexts run {CONTEXT_LANGUAGES}"})
            return
        if msg.get("cases") is not None and (msg.get("context") or not isinstance(msg["cases"], list) or not all(isinstance(c, dict) for c in msg["cases"])):
            send({"op": "result", "id": msg.get("id"), "error": "unsupported request: cases is a list of objects, and not for a cell"})
            return
        try:
            result = run(msg, inbox)
            if msg.get("scan") is not None and not result.get("error") and not result.get("oom_kills"):
                # the workspace as the run left it, in the same reply: the agent's push needs no round trip
                # of its own. Not after a run that met the memory limit: where a workspace's inodes count
                # against it (an emptyDir), the scan could get this process killed before the result is
                # out. Without it (or when it failed) the agent asks for a scan after the result.
                try:
                    with as_sandbox_user():
                        result["scan"] = scan_workspace(msg["scan"])
                except Exception:  # noqa: BLE001
                    pass
            send(result)
        except Exception as e:  # noqa: BLE001 - report, stay alive for the next run
            send({"op": "result", "id": msg.get("id"), "error": f"executor: {type(e).__name__}: {e}"})
    elif op in FILE_OPS:
        try:
            with as_sandbox_user():
                FILE_OPS[op](msg)
        except Exception as e:  # noqa: BLE001 - report, stay alive
            send({"op": "error", "id": msg.get("id"), "error": f"executor: {type(e).__name__}: {e}"})
    elif op == "context_stop":
        stop_context(msg)
    elif op in ("cancel", "lease"):
        pass  # nothing runs: nothing to cancel or to lease
    else:
        send({"op": "error", "id": msg.get("id"), "error": msg.get("error") or f"unknown op {op!r}"})


def apply_rlimits(spec):
    """Lowering a hard limit needs no capability; raising it again would (CAP_SYS_RESOURCE, never held)."""
    for item in filter(None, spec.split(",")):
        name, value = item.split("=", 1)
        resource.setrlimit(RLIMITS[name], (int(value), int(value)))


def preload(modules):
    """Imports the image's heavy packages (SANDBOX_PRELOAD, comma-separated) once, here: every Python
    program and context is forked from this interpreter, so their own `import` of them is a dictionary
    lookup instead of seconds of loading. A package that cannot load is left to the program's import."""
    for name in filter(None, (m.strip() for m in modules.split(","))):
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - the program's own import says what is wrong
            print(f"sandbox: cannot preload {name}: {e}", file=sys.stderr)


def main():
    global ISOLATED, RUNTIMES
    if sys.argv[1:] == ["--runtimes"]:
        print(json.dumps(probe_runtimes()))
        return
    RUNTIMES = image_runtimes()
    apply_rlimits(os.environ.get("SANDBOX_RLIMITS", ""))
    ISOLATED = isolation()
    # Not dumpable: its /proc files are root's and ptrace needs CAP_SYS_PTRACE, a second wall when
    # isolated, the only one against code of the same uid when not.
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Subreaper: orphans of a run are re-parented here, never escape the sweep.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    sys.dont_write_bytecode = True
    preload(os.environ.get("SANDBOX_PRELOAD", ""))
    # the container's init (tini) passes on the signals it gets (from the engine; from user code too
    # when not isolated): the executor outlives them (SIGKILL still ends it; the agent then replaces
    # the sandbox)
    for sig in (signal.SIGINT, *FORWARDED_SIGNALS):
        signal.signal(sig, signal.SIG_IGN)
    inbox = Inbox(float(os.environ.get("SANDBOX_ORPHAN_AFTER_S") or 0))
    send({"op": "ready", "version": PROTOCOL_VERSION, "pid": os.getpid(), "isolated": ISOLATED, "runtimes": RUNTIMES})
    while True:
        msg = inbox.next(STANDBY.prepare)
        if msg is None:
            return
        handle(msg, inbox)


if __name__ == "__main__":
    main()
