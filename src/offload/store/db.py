"""SQLite plumbing shared by the journal and the ledger: connections, locking, ids and process identity.

Every connection is opened the same way: WAL journal (readers never block the writer), ``synchronous=FULL``
(a commit is on disk when it returns), a generous ``busy_timeout`` (writers of other processes queue instead
of failing with "database is locked"), foreign keys on and the ``-wal`` file kept from growing unbounded.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from offload.errors import JournalError
from offload.ids import random_bits

T = TypeVar("T")

#: How long a writer waits for another process's write lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 60_000


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open ``path`` with the journal's pragmas; the caller manages transactions (autocommit mode)."""
    try:
        conn = sqlite3.connect(
            str(path),
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_size_limit = 67108864")  # truncate the -wal file back to 64 MiB at most
        if readonly:
            conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise JournalError(
            f"cannot open the journal database {path}: {exc}",
            hint="check that the directory exists and is writable, or set [defaults] journal_path",
        ) from exc
    return conn


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's transient "database is locked/busy" errors."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def retry_busy(fn: Callable[[], T], *, deadline_s: float = BUSY_TIMEOUT_MS / 1000) -> T:
    """Run ``fn``, retrying with a short backoff while SQLite reports the database as busy.

    ``busy_timeout`` already waits inside SQLite; this covers the cases where SQLite returns BUSY without
    calling the busy handler (e.g. changing the journal mode while another process opens the file).
    """
    end = time.monotonic() + deadline_s
    delay = 0.001
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > end:
                raise
            time.sleep(delay + secrets.randbelow(1000) / 1_000_000)
            delay = min(delay * 2, 0.05)


@contextlib.contextmanager
def init_lock(path: Path) -> Iterator[None]:
    """Serialise one-time initialisation (WAL switch, migrations, recovery) across processes.

    Uses an advisory ``flock`` on ``<db>.lock`` where available; elsewhere SQLite's own locks plus
    :func:`retry_busy` are relied on.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# -- ids ---------------------------------------------------------------------------------------------------
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def new_id() -> str:
    """A 26-character ULID: 48-bit millisecond timestamp + 80 random bits, Crockford base32.

    Ids sort by creation time; within one millisecond of one process they keep increasing (the random
    part is incremented), and across processes the 80 random bits keep them unique.
    """
    global _last_ms, _last_rand
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            rand = (_last_rand + 1) & ((1 << 80) - 1)
        else:
            rand = random_bits(80)  # no urandom per id: see offload.ids
        _last_ms, _last_rand = ms, rand
    value = (ms << 80) | rand
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


# -- process identity (crash recovery) -------------------------------------------------------------------
@dataclass(frozen=True)
class Owner:
    """Which process owns a pending row: host, boot id, pid and the process's start time."""

    host: str
    boot: str
    pid: int
    start: int | None


def _boot_id() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return ""


def process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), or None when unknown or not running.

    Zombies (killed but not yet reaped) count as not running.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


_BOOT = _boot_id()
_HOST = socket.gethostname()


def current_owner() -> Owner:
    """The identity of the calling process."""
    pid = os.getpid()
    return Owner(host=_HOST, boot=_BOOT, pid=pid, start=process_start(pid))


def owner_is_dead(owner: Owner) -> bool:
    """True only when we can be sure the owning process is gone.

    Rows of another host are never judged (their processes cannot be seen). On this host: another boot id
    means a reboot happened; otherwise the pid must be running with the same start time.
    """
    if owner.host != _HOST:
        return False
    if owner.boot and _BOOT and owner.boot != _BOOT:
        return True
    if owner.start is not None and Path("/proc").is_dir():
        return process_start(owner.pid) != owner.start
    if sys.platform == "win32":  # pragma: no cover - os.kill would terminate the process
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
