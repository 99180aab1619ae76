"""The client."""

import time
from collections.abc import Callable

from weather.cache import TTLCache

_MISSING = object()


class WeatherClient:
    def __init__(
        self,
        transport: Callable[[str], dict],
        clock: Callable[[], float] = time.monotonic,
        ttl_s: float = 60.0,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._cache = TTLCache(ttl_s, clock=clock) if ttl_s > 0 else None

    def current(self, city: str) -> dict:
        key = city.strip().lower()
        if self._cache is not None:
            hit = self._cache.get(key, _MISSING)
            if hit is not _MISSING:
                return hit
        result = self._transport(f"/current?city={key}")
        if self._cache is not None:
            self._cache.set(key, result)
        return result
