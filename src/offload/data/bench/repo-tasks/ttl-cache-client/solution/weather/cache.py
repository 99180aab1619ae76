"""A small time-to-live cache."""

import time
from collections.abc import Callable, Hashable
from typing import Any


class TTLCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._data: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, default: Any = None) -> Any:
        entry = self._data.get(key)
        if entry is None:
            return default
        stored, value = entry
        if self._clock() - stored >= self.ttl_s:
            del self._data[key]
            return default
        return value

    def set(self, key: Hashable, value: Any) -> None:
        self._data[key] = (self._clock(), value)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        now = self._clock()
        return sum(1 for stored, _ in self._data.values() if now - stored < self.ttl_s)
