"""Run untrusted code (model answers, caller tests, verify commands) in a separate, limited process.

Every run gets a fresh temporary directory (its cwd, ``HOME`` and ``TMPDIR``), a cleared environment, and a
small bootstrap (``_BOOT_SOURCE`` below, written next to the code) that, before any untrusted
code runs, sets resource limits (address space, CPU seconds, processes, file size, open files), drops root
privileges when offload runs as root, and — for Python code — installs an audit hook that refuses network
sockets, process creation, ``ctypes``, and writes outside the temporary directory. Where ``unshare`` works,
the process also gets its own network namespace (no network at all) and its own PID namespace (nothing it
starts can outlive it). The process leads a new session; on timeout, on output overflow or on cancellation
the whole process group is killed. Output is capped while it is read. The directory is always removed.

Resource limits are applied in the child's bootstrap rather than in a ``preexec_fn``: ``preexec_fn`` is not
safe when the parent has threads (offload runs sandboxes from worker threads), and the bootstrap runs before
any untrusted code, so the effect is the same.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from offload.errors import SandboxError

__all__ = [
    "Isolation",
    "SandboxResult",
    "isolation",
    "run_command",
    "run_command_async",
    "run_python",
    "run_python_async",
]

_BOOT_NAME = ".offload_boot.py"
_NOBODY = "nobody"

# The child's first code: limits, privilege drop, then (Python) an audit-hook guard or (command) exec sh.
# The hook is a tripwire behind the OS-level limits, not a security boundary on its own: it keeps honest
# mistakes and casual abuse (sockets, subprocesses, ctypes, writes to the user's files) from happening, while
# namespaces, rlimits and the uid switch bound what a determined program could do.
_BOOT_SOURCE = r"""
import json, os, resource, signal, sys

def _boot():
    cfg = json.loads(sys.argv[1])
    def limit(res, soft, hard=None):
        hard = soft if hard is None else hard
        _, cur = resource.getrlimit(res)
        if cur != resource.RLIM_INFINITY:
            hard, soft = min(hard, cur), min(soft, cur)
        resource.setrlimit(res, (soft, hard))
    limit(resource.RLIMIT_CORE, 0)
    limit(resource.RLIMIT_CPU, cfg["cpu"], cfg["cpu"] + 1)
    limit(resource.RLIMIT_FSIZE, cfg["fsize"])
    limit(resource.RLIMIT_NOFILE, cfg["nofile"])
    limit(resource.RLIMIT_NPROC, cfg["nproc"])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    python = cfg["mode"] == "python"
    if python and cfg["drop"]:  # after the switch this user may not be able to read the standard library
        for name in ("math", "cmath", "re", "string", "collections", "collections.abc", "itertools", "functools",
                     "heapq", "bisect", "operator", "statistics", "fractions", "decimal", "random", "hashlib",
                     "copy", "datetime", "typing", "dataclasses", "enum", "textwrap", "unicodedata", "array",
                     "numbers", "time", "calendar", "io", "traceback", "linecache", "contextlib", "struct",
                     "base64", "binascii", "zlib", "pprint", "difflib", "signal", "subprocess", "pkgutil",
                     "doctest", "unittest", "inspect", "ast", "tokenize", "fnmatch", "glob", "tempfile", "shutil",
                     "keyword", "locale", "codecs", "encodings.idna", "encodings.latin_1", "encodings.ascii",
                     "warnings", "weakref", "types", "abc", "queue", "threading", "sqlite3", "pickle", "copyreg",
                     "secrets", "uuid", "csv", "graphlib", "contextvars", "numbers", "reprlib", "shlex",
                     "email.utils", "urllib.parse", "html", "zoneinfo", "asyncio", "concurrent.futures",
                     "multiprocessing", "pathlib", "os.path", "platform", "gzip", "bz2", "lzma", "zipfile",
                     "optparse", "argparse", "getopt", "string", "sys"):
            try:
                __import__(name)
            except Exception:
                pass
    if cfg["drop"]:
        uid, gid = cfg["drop"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            sys.stderr.write("offload sandbox: could not drop privileges\n")
            os._exit(97)
    limit(resource.RLIMIT_AS, cfg["memory"])
    if not python:
        os.execve("/bin/sh", ["/bin/sh", "-c", cfg["command"]], dict(os.environ))
    _guard(cfg)
    main = os.path.join(cfg["root"], "main.py")
    sys.argv = [main]
    sys.path.insert(0, cfg["root"])  # -I leaves the script's directory out; the code may import its files
    with open(main, encoding="utf-8") as fh:
        code = compile(fh.read(), main, "exec")
    module = type(sys)("__main__")
    module.__file__ = main
    sys.modules["__main__"] = module
    exec(code, module.__dict__)

def _guard(cfg):
    real = os.path.realpath
    root = real(cfg["root"])
    allow_read = tuple(real(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path} if p) + (root,)
    deny_read = tuple(real(p) for p in cfg["deny_read"])
    sep = os.sep
    wflags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    deny = frozenset({
        "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen",
        "os.killpg", "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
        "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg", "urllib.Request", "gc.get_objects",
        "gc.get_referrers", "gc.get_referents", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "os.setuid",
    })
    path_events = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.chmod": (0,), "os.chown": (0,),
                   "os.rename": (0, 1), "os.link": (0, 1), "os.symlink": (1,), "os.truncate": (0,),
                   "os.utime": (0,), "os.chflags": (0,), "os.lchflags": (0,), "os.setxattr": (0,),
                   "os.removexattr": (0,), "os.mkfifo": (0,), "os.mknod": (0,), "shutil.rmtree": (0,)}
    def under(path, roots):
        return any(path == r or path.startswith(r + sep) for r in roots)
    def resolve(path):
        if isinstance(path, int) or path is None:
            return None
        return real(os.fsdecode(os.fspath(path)))
    def no_write(path):
        p = resolve(path)
        if p is not None and not under(p, (root,)) and p != "/dev/null":
            raise PermissionError(f"sandbox: writing outside the sandbox directory is not allowed: {p}")
    def hook(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writes = (isinstance(flags, int) and flags & wflags) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writes:
                no_write(path)
            else:
                p = resolve(path)
                if p is not None and under(p, deny_read) and not under(p, allow_read):
                    raise PermissionError(f"sandbox: reading the user's files is not allowed: {p}")
        elif event in deny:
            raise PermissionError(f"sandbox: {event} is not allowed")
        elif event in path_events:
            for i in path_events[event]:
                if i < len(args):
                    no_write(args[i])
        elif event == "import" and args and args[0] in ("_posixsubprocess", "_ctypes"):
            raise PermissionError(f"sandbox: importing {args[0]} is not allowed")
        elif event == "socket.__new__" and len(args) > 1 and args[1] != 1:
            raise PermissionError("sandbox: network access is not allowed")
        elif event == "os.kill" and args and args[0] != os.getpid():
            raise PermissionError("sandbox: signalling other processes is not allowed")
        elif event == "sqlite3.connect" and args and str(args[0]) not in (":memory:", ""):
            no_write(args[0])
    import _posixsubprocess, subprocess
    def _denied(*_a, **_k):
        raise PermissionError("sandbox: starting processes is not allowed")
    _posixsubprocess.fork_exec = _denied
    subprocess._fork_exec = _denied
    sys.addaudithook(hook)

_boot()
"""


@dataclass(frozen=True)
class SandboxResult:
    """What happened to one sandboxed run."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    #: None when the process ended by itself; else "timeout", "output", "memory", "cpu", "cancelled", "signal:N".
    killed_reason: str | None
    duration_s: float
    truncated: bool

    @property
    def ok(self) -> bool:
        """The process exited with status 0 and was not stopped by the sandbox."""
        return self.exit_code == 0 and self.killed_reason is None

    def describe(self) -> str:
        """A one-line summary for verdicts and logs."""
        if self.killed_reason == "timeout":
            return f"timed out after {self.duration_s:.1f}s"
        if self.killed_reason == "output":
            return "stopped: output larger than the sandbox's cap"
        if self.killed_reason == "memory":
            return "ran out of memory (sandbox memory limit)"
        if self.killed_reason:
            return f"stopped ({self.killed_reason})"
        tail = self.stderr.strip().splitlines()[-1:] if self.stderr.strip() else []
        return f"exit code {self.exit_code}" + (f": {tail[0][:200]}" if tail and self.exit_code else "")


@dataclass(frozen=True)
class Isolation:
    """The OS-level isolation this machine allows, detected once per process."""

    #: Command prefix that gives the run its own network (and PID) namespace, or () when unavailable.
    prefix: tuple[str, ...]
    pid_namespace: bool
    #: (uid, gid) the bootstrap switches to when offload runs as root (Python code), else None.
    drop_to: tuple[int, int] | None
    #: Whether shell commands also run as that user (only when it can execute this interpreter).
    drop_commands: bool

    @property
    def network_namespace(self) -> bool:
        return bool(self.prefix)


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(_NOBODY)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _probe(argv: list[str]) -> bool:
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """Detect (once) whether ``unshare`` works here and whether root privileges can be dropped."""
    root = os.geteuid() == 0
    prefix: tuple[str, ...] = ()
    pid_ns = False
    unshare = shutil.which("unshare")
    if unshare:
        user = () if root else ("--map-root-user",)
        for candidate, has_pid in (
            ((unshare, *user, "--net", "--pid", "--fork", "--kill-child"), True),
            ((unshare, *user, "--net"), False),
        ):
            if _probe([*candidate, sys.executable, "-I", "-c", "pass"]):
                prefix, pid_ns = candidate, has_pid
                break
    drop_to = _nobody() if root else None
    iso = Isolation(prefix=prefix, pid_namespace=pid_ns, drop_to=drop_to, drop_commands=False)
    if drop_to is not None:
        probe = _run(iso, "python", "print(1)", timeout_s=10, memory_mb=512, output_cap=1000, files=None)
        if not probe.ok:
            iso = Isolation(prefix=prefix, pid_namespace=pid_ns, drop_to=None, drop_commands=False)
        else:
            check = f"{sys.executable} -I -c pass"
            cmd_iso = Isolation(prefix=prefix, pid_namespace=pid_ns, drop_to=drop_to, drop_commands=True)
            probe = _run(cmd_iso, "command", check, timeout_s=10, memory_mb=512, output_cap=1000, files=None)
            if probe.ok:
                iso = cmd_iso
    return iso


def _user_process_count(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except OSError:
            continue
    return count


def _write_files(root: Path, files: dict[str, str] | None) -> None:
    for name, text in (files or {}).items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or name == _BOOT_NAME:
            raise SandboxError(
                f"sandbox file name {name!r} is not allowed",
                hint="use a relative path inside the sandbox directory, without '..'",
            )
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, uid, gid)
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _remove_tree(root: Path) -> None:
    def _retry(func, path, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(root, onerror=_retry)


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a visible process (not a zombie) still belongs to process group ``pgid``."""
    try:
        os.killpg(pgid, 0)  # signal 0 only asks; cheap answer for the common case
    except (ProcessLookupError, PermissionError):
        return False
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _await_group_exit(pgid: int, limit_s: float = 2.0) -> None:
    """Wait (briefly) until every killed member of the group is gone, so nothing outlives the call."""
    deadline = time.monotonic() + limit_s
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (its pid — our process group id — stays reserved)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


class _Capped:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.over = False

    def add(self, data: bytes) -> None:
        room = self.cap - self.size
        if len(data) > room:
            self.over = True
            data = data[: max(room, 0)]
        self.chunks.append(data)
        self.size += len(data)

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


def _pump(
    proc: subprocess.Popen[bytes], deadline: float, cap: int, cancel: threading.Event | None
) -> tuple[_Capped, _Capped, str | None]:
    """Read both pipes until the process ends, enforcing the deadline, the output cap and cancellation."""
    out, err = _Capped(cap), _Capped(cap)
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    reason: str | None = None
    exited_at: float | None = None
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                reason = "timeout"
                break
            if cancel is not None and cancel.is_set():
                reason = "cancelled"
                break
            if exited_at is None and _exited(proc.pid):
                exited_at = now
            elif exited_at is not None and now - exited_at > 0.5:
                break  # the process is gone; something it started still holds the pipes
            for key, _ in sel.select(min(deadline - now, 0.05)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                key.data.add(data)
                if key.data.over:
                    reason = "output"
            if reason:
                break
    finally:
        sel.close()
    while reason is None and exited_at is None and not _exited(proc.pid):  # pipes closed, process still running
        if time.monotonic() >= deadline:
            reason = "timeout"
        elif cancel is not None and cancel.is_set():
            reason = "cancelled"
        else:
            time.sleep(0.01)
    return out, err, reason


def _run(
    iso: Isolation,
    mode: str,
    payload: str,
    *,
    timeout_s: float,
    memory_mb: int,
    output_cap: int,
    files: dict[str, str] | None,
    cancel: threading.Event | None = None,
) -> SandboxResult:
    if timeout_s <= 0:
        raise SandboxError("sandbox timeout must be positive", hint="pass timeout_s > 0")
    root = Path(tempfile.mkdtemp(prefix="offload-sbx-"))
    started = time.monotonic()
    try:
        _write_files(root, files)
        (root / _BOOT_NAME).write_text(_BOOT_SOURCE, encoding="utf-8")
        if mode == "python":
            (root / "main.py").write_text(payload, encoding="utf-8")
        drop = iso.drop_to if (mode == "python" or iso.drop_commands) else None
        nproc_uid = drop[0] if drop else os.getuid()
        cfg: dict[str, Any] = {
            "root": str(root),
            "mode": mode,
            "command": payload if mode == "command" else None,
            "drop": list(drop) if drop else None,
            "memory": memory_mb * 1024 * 1024,
            "cpu": max(1, int(timeout_s + 1.999)),
            "nproc": _user_process_count(nproc_uid) + 64,
            "fsize": 64 * 1024 * 1024,
            "nofile": 256,
            "deny_read": sorted({os.path.expanduser("~"), os.getcwd()} - {"/"}),
            "path": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        }
        if drop:
            root.chmod(0o700)
            _chown_tree(root, *drop)
        env = {
            "PATH": str(cfg["path"]),
            "HOME": str(root),
            "TMPDIR": str(root),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONIOENCODING": "utf-8",
        }
        argv = [*iso.prefix, sys.executable, "-I", str(root / _BOOT_NAME), json.dumps(cfg)]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise SandboxError(f"could not start the sandbox process: {exc}", hint="check that Python runs") from exc
        try:
            out, err, reason = _pump(proc, started + timeout_s, output_cap, cancel)
        finally:
            _killpg(proc.pid)  # the whole group, before reaping: the group id cannot have been reused yet
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
            proc.wait()
            _await_group_exit(proc.pid)
        code = proc.returncode
        stderr = err.text()
        if reason is None and code is not None and code != 0:
            if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
                reason = "cpu"
            elif "MemoryError" in stderr[-2000:] or "Cannot allocate memory" in stderr[-2000:]:
                reason = "memory"
        return SandboxResult(
            exit_code=code,
            stdout=out.text(),
            stderr=stderr,
            timed_out=reason == "timeout",
            killed_reason=reason,
            duration_s=time.monotonic() - started,
            truncated=out.over or err.over,
        )
    finally:
        _remove_tree(root)


def run_python(
    code: str,
    *,
    timeout_s: float,
    memory_mb: int = 512,
    output_cap: int = 64_000,
    files: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> SandboxResult:
    """Run Python ``code`` (as ``main.py``) in the sandbox and report how it ended. Never raises for bad code.

    ``files`` are written into the sandbox directory first (relative paths). ``cancel``, when set from
    another thread, stops the run like a timeout (reported as ``killed_reason="cancelled"``).
    """
    return _run(
        isolation(), "python", code, timeout_s=timeout_s, memory_mb=memory_mb, output_cap=output_cap,
        files=files, cancel=cancel,
    )  # fmt: skip


def run_command(
    command: str,
    *,
    timeout_s: float,
    memory_mb: int = 512,
    output_cap: int = 64_000,
    files: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> SandboxResult:
    """Run a shell ``command`` (``/bin/sh -c``) in the sandbox directory, after writing ``files`` there.

    The same limits apply as for :func:`run_python`, except the Python audit hook (the command may run any
    program); network and process isolation come from the OS namespaces and limits.
    """
    return _run(
        isolation(), "command", command, timeout_s=timeout_s, memory_mb=memory_mb, output_cap=output_cap,
        files=files, cancel=cancel,
    )  # fmt: skip


async def _in_thread(func: functools.partial[SandboxResult], cancel: threading.Event) -> SandboxResult:
    try:
        return await asyncio.to_thread(func)
    except asyncio.CancelledError:
        cancel.set()
        raise


async def run_python_async(
    code: str,
    *,
    timeout_s: float,
    memory_mb: int = 512,
    output_cap: int = 64_000,
    files: dict[str, str] | None = None,
) -> SandboxResult:
    """:func:`run_python` without blocking the event loop; cancelling the task kills the sandboxed process."""
    cancel = threading.Event()
    call = functools.partial(
        run_python, code, timeout_s=timeout_s, memory_mb=memory_mb, output_cap=output_cap, files=files, cancel=cancel
    )
    return await _in_thread(call, cancel)


async def run_command_async(
    command: str,
    *,
    timeout_s: float,
    memory_mb: int = 512,
    output_cap: int = 64_000,
    files: dict[str, str] | None = None,
) -> SandboxResult:
    """:func:`run_command` without blocking the event loop; cancelling the task kills the process group."""
    cancel = threading.Event()
    call = functools.partial(
        run_command, command, timeout_s=timeout_s, memory_mb=memory_mb, output_cap=output_cap, files=files,
        cancel=cancel,
    )  # fmt: skip
    return await _in_thread(call, cancel)
