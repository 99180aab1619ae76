"""What a sandboxed process starts with: the bootstrap script written next to the code, the settings passed to
it (resource limits, the user to switch to, the files it may not read, what to run) and its environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["BOOT_NAME", "BOOT_SOURCE", "boot_config", "child_env"]

#: File name of the bootstrap inside the sandbox directory (callers' files may not use it).
BOOT_NAME = ".offload_boot.py"

# The child's first code: limits, privilege drop, then (Python) an audit-hook guard or (command) exec sh.
# The hook is a tripwire behind the OS-level limits, not a security boundary on its own: it keeps honest
# mistakes and casual abuse (sockets, subprocesses, ctypes, writes to the user's files) from happening, while
# namespaces, rlimits and the uid switch bound what a determined program could do.
BOOT_SOURCE = r"""
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


def _user_process_count(uid: int) -> int:
    """How many processes ``uid`` runs now (the process limit is that plus a margin)."""
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


def boot_config(
    root: Path, mode: str, payload: str, drop: tuple[int, int] | None, *, timeout_s: float, memory_mb: int
) -> dict[str, Any]:
    """The bootstrap's settings (its JSON argument) for running ``payload`` in ``root``: Python code
    (``mode="python"``, already written as ``main.py``) or a shell command (``mode="command"``)."""
    nproc_uid = drop[0] if drop else os.getuid()
    return {
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


def child_env(root: Path, cfg: dict[str, Any]) -> dict[str, str]:
    """The sandboxed process's whole environment (nothing is inherited): ``root`` is its home and temp dir."""
    return {
        "PATH": str(cfg["path"]),
        "HOME": str(root),
        "TMPDIR": str(root),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8",
    }
