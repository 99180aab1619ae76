"""Running one sandboxed process: the sandbox directory and its files, starting the bootstrap, reading capped
output against the deadline and cancellation, killing and waiting out the whole process group, and the
:class:`~offload.routing.sandbox_types.SandboxResult` it ends with.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path, PurePosixPath

from offload.errors import SandboxError
from offload.routing.sandbox_boot import BOOT_NAME, BOOT_SOURCE, boot_config, child_env
from offload.routing.sandbox_types import Isolation, SandboxResult

__all__ = ["run_sandboxed"]


def _write_files(root: Path, files: dict[str, str] | None) -> None:
    for name, text in (files or {}).items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or name == BOOT_NAME:
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


def run_sandboxed(
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
    """Run ``payload`` (``mode`` "python": code; "command": a shell command) in a fresh sandbox directory with
    ``iso``'s isolation, and report how it ended. The directory is always removed."""
    if timeout_s <= 0:
        raise SandboxError("sandbox timeout must be positive", hint="pass timeout_s > 0")
    root = Path(tempfile.mkdtemp(prefix="offload-sbx-"))
    started = time.monotonic()
    try:
        _write_files(root, files)
        (root / BOOT_NAME).write_text(BOOT_SOURCE, encoding="utf-8")
        if mode == "python":
            (root / "main.py").write_text(payload, encoding="utf-8")
        drop = iso.drop_to if (mode == "python" or iso.drop_commands) else None
        cfg = boot_config(root, mode, payload, drop, timeout_s=timeout_s, memory_mb=memory_mb)
        if drop:
            root.chmod(0o700)
            _chown_tree(root, *drop)
        env = child_env(root, cfg)
        argv = [*iso.prefix, sys.executable, "-I", str(root / BOOT_NAME), json.dumps(cfg)]
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
