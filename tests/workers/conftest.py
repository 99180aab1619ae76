"""Worker test setup: an engine over two scripted backends — ``small`` (tried first) and ``big`` (escalation)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offload.backends.scripted import Answer, ScriptedBackend
from offload.config import parse_config
from offload.engine import Engine
from offload.types import ChatRequest


class Rig:
    """An engine whose ``small`` and ``big`` models answer from scripts."""

    def __init__(self, tmp_path: Path, *, vision: bool = False, embed: bool = False) -> None:
        models: list[dict[str, Any]] = [
            {
                "name": "small",
                "backend": "local",
                "roles": ["fast", "code", "chat", "review"],
                "capabilities": ["json"],
            },
            {"name": "big", "backend": "bigbox", "roles": ["large"], "capabilities": ["json"]},
        ]
        if vision:
            models.append({"name": "eyes", "backend": "vis", "roles": ["vision"], "capabilities": ["vision", "json"]})
        if embed:
            models.append({"name": "embedder", "backend": "local", "roles": ["embed"], "capabilities": ["embed"]})
        backends = {n: {"kind": "scripted"} for n in ("local", "bigbox", "vis")}
        self.config = parse_config(
            {"defaults": {"embedded": False, "journal_path": str(tmp_path / "journal.db")}, "backends": backends,
             "models": models}
        )  # fmt: skip
        self.small = ScriptedBackend("local", models=["small"])
        self.big = ScriptedBackend("bigbox", models=["big"])
        self.vis = ScriptedBackend("vis", models=["eyes"])
        self.engine = Engine(self.config, backends={"local": self.small, "bigbox": self.big, "vis": self.vis})

    def script(self, small: list[Answer] = (), big: list[Answer] = ()) -> Rig:  # type: ignore[assignment]
        for a in small:
            self.small.add(a)
        for a in big:
            self.big.add(a)
        return self

    def respond(self, fn: Callable[[ChatRequest], Answer], *, big: bool = False) -> Rig:
        (self.big if big else self.small).responder = fn
        return self

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def close(self) -> None:
        asyncio.run(self.engine.aclose())


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.close()


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(**kw: Any) -> Rig:
        r = Rig(tmp_path, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """An offload.toml with a scripted backend answering from ``answers.json`` (for CLI tests)."""
    path = tmp_path / "offload.toml"
    path.write_text(
        f"""
[defaults]
embedded = false
journal_path = "{tmp_path / "journal.db"}"

[backends.local]
kind = "scripted"
script = "{tmp_path / "answers.json"}"

[[models]]
name = "small"
backend = "local"
roles = ["fast", "code", "chat", "review"]
capabilities = ["json"]
{extra}
"""
    )
    return path
