"""The client."""

import time
from collections.abc import Callable


class WeatherClient:
    def __init__(self, transport: Callable[[str], dict], clock: Callable[[], float] = time.monotonic) -> None:
        self._transport = transport
        self._clock = clock

    def current(self, city: str) -> dict:
        return self._transport(f"/current?city={city.strip().lower()}")
