"""Random ids for responses, messages and tool calls, made without a system call each.

``uuid.uuid4()`` reads ``os.urandom`` for every id; on some VMs that system call costs ~0.1 ms, more than the
rest of a gateway request's id handling together. These ids only need to be unique, not secret, so they come
from one per-process generator seeded from ``os.urandom`` once (and again in a forked child, so that a child
never repeats its parent's ids).
"""

from __future__ import annotations

import os
import random

_rng = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_rng.seed)


def random_bits(n: int) -> int:
    """``n`` random bits as an int."""
    return _rng.getrandbits(n)


def random_hex(length: int = 32) -> str:
    """``length`` random lower-case hex digits (32 = as many bits as a UUID)."""
    return f"{_rng.getrandbits(4 * length):0{length}x}"


__all__ = ["random_bits", "random_hex"]
