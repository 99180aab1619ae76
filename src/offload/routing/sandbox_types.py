"""What the sandbox reports and works with: the :class:`SandboxResult` of one run and the :class:`Isolation`
this machine allows."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Isolation", "SandboxResult"]


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
