"""A running gateway on a real loopback socket, backed by scripted backends and a private journal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offload.backends.scripted import ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.server.app import create_app
from tests.fakes.server import serve_app

MODEL = "local-model"


def base_config(**extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "defaults": {"embedded": False},
        "backends": {"local": {"kind": "scripted"}},
        "models": [
            {
                "name": MODEL,
                "backend": "local",
                "context_window": 8192,
                "roles": ["chat", "code", "fast"],
                "capabilities": ["tools", "json", "vision", "embed"],
            }
        ],
    }
    for k, v in extra.items():
        cfg[k] = v
    return cfg


@dataclass
class Gateway:
    """A gateway under test: its URL, engine and backends."""

    url: str
    engine: Engine
    backends: dict[str, Any]

    @property
    def local(self) -> ScriptedBackend:
        return self.backends["local"]

    def journal_rows(self, *, settled: bool = True, **filters: Any) -> list[Any]:
        """Journal rows; with ``settled`` waits (up to 5 s) until none is ``pending`` — like ``offload serve``,
        the gateway answers before the outcome commits (it follows within the writer's 50 ms linger)."""
        deadline = time.monotonic() + 5
        rows = list(self.engine.journal.list(**filters))
        while settled and any(r.status == "pending" for r in rows) and time.monotonic() < deadline:
            time.sleep(0.01)
            rows = list(self.engine.journal.list(**filters))
        return rows


@pytest.fixture
def make_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Gateway]]:
    """``make_gateway(config=..., backends=..., api_key=...)`` -> a running :class:`Gateway`."""
    started: list[Any] = []
    engines: list[Engine] = []
    monkeypatch.delenv("OFFLOAD_API_KEY", raising=False)

    def make(
        config: dict[str, Any] | None = None,
        backends: dict[str, Any] | None = None,
        api_key: str | None = None,
        **server: Any,
    ) -> Gateway:
        if api_key is not None:
            monkeypatch.setenv("OFFLOAD_API_KEY", api_key)
        cfg_dict = config or base_config()
        if server:
            cfg_dict = {**cfg_dict, "server": server}
        cfg = parse_config(cfg_dict)
        bks = (
            backends
            if backends is not None
            else {"local": ScriptedBackend("local", default="Hello from offload", models=[MODEL])}
        )
        # as `offload serve` runs it: outcomes are queued, not awaited, before the answer goes out
        engine = Engine(cfg, backends=bks, journal_path=tmp_path / f"journal{len(engines)}.db", await_outcome=False)
        engines.append(engine)
        cm = serve_app(create_app(engine))
        url = cm.__enter__()
        started.append(cm)
        return Gateway(url=url, engine=engine, backends=bks)

    yield make
    for cm in started:
        cm.__exit__(None, None, None)
    for engine in engines:
        engine.journal.close()


@pytest.fixture
def gw(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway()
