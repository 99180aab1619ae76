"""Atomic file output: a reader (or a crash) never sees a half-written file.

Every write goes to a temporary file in the target's directory, is flushed and fsynced, then renamed over
the target (``os.replace`` is atomic on POSIX and Windows). Appends copy the current content into the
temporary file first, so an interrupted append leaves the previous complete file. :func:`exclusive` takes an
advisory lock beside the target so two offload processes never write the same file at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from offload.errors import InvalidRequest

__all__ = ["append_lines", "exclusive", "write_bytes", "write_text"]


def _fail(path: Path, exc: OSError, what: str = "write") -> InvalidRequest:
    reason = exc.strerror or type(exc).__name__
    return InvalidRequest(
        f"cannot {what} {str(path)!r}: {reason}",
        hint="check that the directory exists and is writable, and that there is free disk space",
    )


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - some filesystems do not allow opening directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename). Returns the path.

    ``mode`` sets the permission bits of the new file (e.g. ``0o600`` for keys); otherwise an existing
    file keeps its mode and a new one gets the process umask default.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InvalidRequest(
            f"cannot write {str(target)!r}: the directory {str(directory)!r} does not exist",
            hint="create the directory first or choose another output path",
        )
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _fail(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _fail(target, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)
    return target


def write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"), mode=mode)


def append_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> Path:
    """Append whole lines to ``path`` atomically: the file has either all of them or none.

    The existing content is copied into the temporary file (a missing trailing newline is added first), so
    the cost grows with the file; callers append in batches.
    """
    target = Path(path)
    try:
        current = target.read_bytes()
    except FileNotFoundError:
        current = b""
    except OSError as exc:
        raise _fail(target, exc, "read") from exc
    if current and not current.endswith(b"\n"):
        current += b"\n"
    added = "".join(line if line.endswith("\n") else line + "\n" for line in lines).encode("utf-8")
    return write_bytes(target, current + added)


@contextlib.contextmanager
def exclusive(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an advisory lock on ``<path>.lock`` for the block; fail at once if another process holds it."""
    target = Path(path)
    lock_path = target.with_name(target.name + ".lock")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, writes stay atomic
        yield
        return
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _fail(lock_path, exc, "create the lock file") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise InvalidRequest(
                f"{str(target)!r} is being written by another offload process",
                hint="wait for it to finish, or write to another file",
            ) from exc
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except OSError:
            same = False
        if same:
            break
        os.close(fd)  # the holder before us removed the lock file between our open and our lock: retry
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
