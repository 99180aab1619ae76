"""Run untrusted code (model answers, caller tests, verify commands) in a separate, limited process.

Every run gets a fresh temporary directory (its cwd, ``HOME`` and ``TMPDIR``), a cleared environment, and a
small bootstrap (:mod:`offload.routing.sandbox_boot`, written next to the code) that, before any untrusted
code runs, sets resource limits (address space, CPU seconds, processes, file size, open files), drops root
privileges when offload runs as root, and — for Python code — installs an audit hook that refuses network
sockets, process creation, ``ctypes``, and writes outside the temporary directory. Where ``unshare`` works,
the process also gets its own network namespace (no network at all) and its own PID namespace (nothing it
starts can outlive it). The process leads a new session; on timeout, on output overflow or on cancellation
the whole process group is killed. Output is capped while it is read. The directory is always removed.

Resource limits are applied in the child's bootstrap rather than in a ``preexec_fn``: ``preexec_fn`` is not
safe when the parent has threads (offload runs sandboxes from worker threads), and the bootstrap runs before
any untrusted code, so the effect is the same.

This module detects the isolation and holds the entry points; the result types live in
:mod:`offload.routing.sandbox_types`, the bootstrap, its limits and environment in
:mod:`offload.routing.sandbox_boot`, and the running of one process in :mod:`offload.routing.sandbox_process`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import pwd
import shutil
import subprocess
import sys
import threading

from offload.routing.sandbox_process import run_sandboxed
from offload.routing.sandbox_types import Isolation, SandboxResult

__all__ = [
    "Isolation",
    "SandboxResult",
    "isolation",
    "run_command",
    "run_command_async",
    "run_python",
    "run_python_async",
]

_NOBODY = "nobody"


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
        probe = run_sandboxed(iso, "python", "print(1)", timeout_s=10, memory_mb=512, output_cap=1000, files=None)
        if not probe.ok:
            iso = Isolation(prefix=prefix, pid_namespace=pid_ns, drop_to=None, drop_commands=False)
        else:
            check = f"{sys.executable} -I -c pass"
            cmd_iso = Isolation(prefix=prefix, pid_namespace=pid_ns, drop_to=drop_to, drop_commands=True)
            probe = run_sandboxed(cmd_iso, "command", check, timeout_s=10, memory_mb=512, output_cap=1000, files=None)
            if probe.ok:
                iso = cmd_iso
    return iso


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
    return run_sandboxed(
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
    return run_sandboxed(
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
