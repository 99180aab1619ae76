import pytest

from weather.cache import TTLCache
from weather.client import WeatherClient


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Transport:
    def __init__(self):
        self.calls = []
        self.fail = False

    def __call__(self, path):
        self.calls.append(path)
        if self.fail:
            raise ConnectionError("down")
        return {"path": path, "n": len(self.calls)}


def test_ttl_cache():
    clock = Clock()
    cache = TTLCache(10, clock=clock)
    assert cache.get("a") is None and cache.get("a", 5) == 5
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1 and len(cache) == 2
    clock.now += 9.9
    assert cache.get("b") == 2
    clock.now += 0.2
    assert cache.get("a") is None and len(cache) == 0
    cache.set("a", 3)
    cache.clear()
    assert len(cache) == 0


def test_client_caches_per_city():
    clock, transport = Clock(), Transport()
    client = WeatherClient(transport, clock=clock, ttl_s=30)
    first = client.current("Oslo")
    assert client.current(" oslo ") == first
    assert len(transport.calls) == 1
    client.current("Rome")
    assert len(transport.calls) == 2
    clock.now += 31
    assert client.current("Oslo") != first
    assert len(transport.calls) == 3


def test_default_ttl_is_60s():
    clock, transport = Clock(), Transport()
    client = WeatherClient(transport, clock=clock)
    client.current("Oslo")
    clock.now += 59
    client.current("Oslo")
    assert len(transport.calls) == 1
    clock.now += 2
    client.current("Oslo")
    assert len(transport.calls) == 2


def test_ttl_zero_disables():
    transport = Transport()
    client = WeatherClient(transport, clock=Clock(), ttl_s=0)
    client.current("Oslo")
    client.current("Oslo")
    assert len(transport.calls) == 2


def test_errors_not_cached():
    transport = Transport()
    client = WeatherClient(transport, clock=Clock(), ttl_s=30)
    transport.fail = True
    with pytest.raises(ConnectionError):
        client.current("Oslo")
    transport.fail = False
    assert client.current("Oslo")["n"] == 2
