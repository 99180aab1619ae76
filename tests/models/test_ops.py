"""Setup, pull (progress, failure mid-pull, resume, unknown model), ps, load and unload against FakeOllama."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from offload.backends import create_backend
from offload.backends.base import Backend
from offload.backends.scripted import ScriptedBackend
from offload.config import BackendConfig, Config, parse_config
from offload.errors import InvalidRequest, UnknownModel
from offload.models.ops import ModelManager, OpsEvent, normalize_keep_alive, start_hint
from tests.fakes.ollama import FakeModel, FakeOllama
from tests.fakes.server import free_port, serve_app

NOW = 1_750_000_000.0
CODER = "qwen2.5-coder:7b"  # in FakeOllama's registry, not installed


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[str, list[FakeOllama]]]:
    current: list[FakeOllama] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await current[-1].app(scope, receive, send)

    with serve_app(app) as url:
        yield url, current


@pytest.fixture
def fake(_server: tuple[str, list[FakeOllama]]) -> FakeOllama:
    f = FakeOllama(clock=lambda: NOW)
    f.add_pullable(FakeModel("nomic-embed-text:v1.5", size=4_000, layers=(3_000, 1_000)))
    _server[1][:] = [f]
    return f


def make_config(url: str, *models: dict[str, Any]) -> Config:
    default = [
        {"name": "coder", "backend": "ollama", "backend_model": CODER, "vram_gb": 5.5, "roles": ["code"]},
        {"name": "llama3.2", "backend": "ollama", "vram_gb": 2.5, "roles": ["chat"]},
        {"name": "nomic-embed-text:v1.5", "backend": "ollama", "vram_gb": 0.5, "roles": ["embed"], "required": False},
    ]
    return parse_config(
        {
            "defaults": {"embedded": False, "keep_alive": "10m"},
            "backends": {"ollama": {"kind": "ollama", "base_url": url, "max_retries": 0}},
            "models": list(models) or default,
        }
    )


@pytest.fixture
def backends() -> Iterator[dict[str, Backend]]:
    made: dict[str, Backend] = {}
    yield made


def manager(cfg: Config, made: dict[str, Backend], **kw: Any) -> ModelManager:
    def lookup(name: str) -> Backend:
        if name not in made:
            made[name] = create_backend(cfg.backends[name])
        return made[name]

    kw.setdefault("sleep", Sleeps())
    return ModelManager(cfg, lookup, clock=lambda: NOW, **kw)


@pytest.fixture(autouse=True)
async def _close(backends: dict[str, Backend]) -> AsyncIterator[None]:
    yield
    for b in backends.values():
        await b.aclose()


async def test_setup_pulls_missing_required_models_with_progress(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    events: list[OpsEvent] = []
    report = await manager(make_config(_server[0]), backends).setup(on_event=events.append)
    assert [(c.name, c.ok, c.can_pull) for c in report.checks if c.name == "ollama"] == [("ollama", True, True)]
    assert [(o.model, o.status) for o in report.outcomes] == [("coder", "pulled"), ("llama3.2", "present")]
    assert report.ok
    progress = [e.progress for e in events if e.kind == "progress" and e.model == "coder"]
    statuses = [p.status for p in progress if p]
    assert statuses[0] == "pulling manifest" and statuses[-3:] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    first_blob = [p for p in progress if p and p.total == 4_683_073_184]
    assert len(first_blob) >= 3 and first_blob[-1].completed == first_blob[-1].total
    assert [p.completed or 0 for p in first_blob] == sorted(p.completed or 0 for p in first_blob)
    assert "qwen2.5-coder:7b" in fake.models  # verified as listed afterwards
    assert [e.kind for e in events].count("done") == 2
    assert not fake.requests_to("/api/pull")[0].body.get("insecure")


async def test_optional_models_only_with_optional(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    report = await manager(make_config(_server[0]), backends).setup(optional=True)
    assert [(o.model, o.status, o.required) for o in report.outcomes] == [
        ("coder", "pulled", True),
        ("llama3.2", "present", True),
        ("nomic-embed-text:v1.5", "pulled", False),
    ]


async def test_failure_mid_pull_resumes_where_it_stopped(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    fake.fail_pull_once(CODER, after_bytes=2_000_000_000)
    sleeps = Sleeps()
    events: list[OpsEvent] = []
    outcome = await manager(make_config(_server[0]), backends, sleep=sleeps).pull("coder", events.append)
    assert (outcome.status, outcome.attempts) == ("pulled", 2)
    resumes = [e for e in events if e.kind == "resume"]
    assert len(resumes) == 1 and "unexpected EOF" in resumes[0].detail
    assert sleeps == [1.0]
    # the second pull starts at the bytes already downloaded, not at zero
    after = events[events.index(resumes[0]) + 1 :]
    blob = [e.progress for e in after if e.progress and e.progress.total == 4_683_073_184]
    assert blob[0].completed == 2_000_000_000
    assert len(fake.requests_to("/api/pull")) == 2
    assert CODER in fake.models


async def test_interrupted_setup_resumes_on_the_next_run(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    """A run that gives up (e.g. the network keeps failing) leaves the bytes; the next run continues."""
    fake.fail_pull_once(CODER, after_bytes=3_000_000_000)
    cfg = make_config(_server[0])
    first = await manager(cfg, backends, max_resumes=0).setup()
    coder = first.outcomes[0]
    assert coder.status == "failed" and "gave up after attempt 1" in coder.detail
    assert "offload setup" in (coder.hint or "") and not first.ok
    events: list[OpsEvent] = []
    second = await manager(cfg, backends).setup(on_event=events.append)
    assert second.outcomes[0].status == "pulled" and second.ok
    blob = [e.progress for e in events if e.progress and e.progress.total == 4_683_073_184]
    assert blob[0].completed == 3_000_000_000


async def test_repeated_failures_give_up_with_a_hint(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    fake.fail_next(503, "service unavailable", path="/api/pull", times=10)
    sleeps = Sleeps()
    outcome = await manager(make_config(_server[0]), backends, sleep=sleeps, max_resumes=2).pull("coder")
    assert outcome.status == "failed" and outcome.attempts == 3
    assert "gave up after attempt 3" in outcome.detail and sleeps == [1.0, 2.0]


async def test_a_model_that_does_not_exist(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    cfg = make_config(_server[0], {"name": "qwen9-coder:700b", "backend": "ollama", "vram_gb": 400})
    sleeps = Sleeps()
    report = await manager(cfg, backends, sleep=sleeps).setup()
    (o,) = report.outcomes
    assert o.status == "failed" and o.attempts == 1 and sleeps == []  # not retried
    assert "file does not exist" in o.detail and "ollama.com/library" in (o.hint or "")
    assert not report.ok


async def test_pulled_but_not_listed_fails_verification(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    fake.queue_raw([{"status": "pulling manifest"}, {"status": "success"}], path="/api/pull")
    report = await manager(make_config(_server[0]), backends).setup()
    o = report.outcomes[0]
    assert o.status == "failed" and "does not list 'qwen2.5-coder:7b'" in o.detail and o.hint


async def test_backend_down_says_how_to_start_it(backends: dict[str, Backend]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    report = await manager(make_config(url), backends).setup()
    check = next(c for c in report.checks if c.name == "ollama")
    assert not check.ok and "ollama serve" in (check.hint or "")
    assert all(
        o.status == "failed" and "is down" in o.detail and "ollama serve" in (o.hint or "") for o in report.outcomes
    )


def test_start_hints_are_exact() -> None:
    ollama = BackendConfig(name="o", kind="ollama", base_url="http://127.0.0.1:11434")
    assert "`ollama serve` (it listens on port 11434)" in start_hint(ollama)
    other = BackendConfig(name="o", kind="ollama", base_url="http://127.0.0.1:11500")
    assert "`OLLAMA_HOST=127.0.0.1:11500 ollama serve`" in start_hint(other)
    lms = BackendConfig(name="l", kind="openai_compat", base_url="http://localhost:1234/v1")
    assert "lms server start --port 1234" in start_hint(lms) and "llama-server" in start_hint(lms)
    claude = BackendConfig(name="c", kind="anthropic", base_url="https://api.anthropic.com", api_key_env="MY_KEY")
    assert "$MY_KEY" in start_hint(claude)


async def test_ps_load_unload_with_default_keep_alive(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    m = manager(make_config(_server[0]), backends)
    assert await m.ps() == []
    assert await m.load("llama3.2") == "10m"  # [defaults] keep_alive
    body = fake.requests_to("/api/generate")[-1].body
    assert body == {"model": "llama3.2", "stream": False, "keep_alive": "10m"}
    (row,) = await m.ps()
    assert (row.name, row.backend, row.in_inventory, row.expires_in) == ("llama3.2", "ollama", True, "in 10m 00s")
    assert row.vram_gb == pytest.approx(2_019_393_189 / 1024**3, abs=0.01)
    assert await m.load("llama3.2", "-1") == -1
    (row,) = await m.ps()
    assert row.expires_in == "never (pinned)"
    (res,) = await m.residents()
    assert res.pinned and res.name == "llama3.2"
    await m.unload("llama3.2")
    assert fake.requests_to("/api/generate")[-1].body["keep_alive"] == 0
    assert await m.ps() == []


async def test_load_errors(
    fake: FakeOllama, _server: tuple[str, list[FakeOllama]], backends: dict[str, Backend]
) -> None:
    m = manager(make_config(_server[0]), backends)
    with pytest.raises(UnknownModel) as ei:
        await m.load("gpt-17")
    assert "not in the inventory" in ei.value.message and "llama3.2" in (ei.value.hint or "")
    with pytest.raises(InvalidRequest) as bad:
        await m.load("llama3.2", "5 minutes")
    assert "30s, 5m" in (bad.value.hint or "")
    with pytest.raises(UnknownModel):  # in the inventory, not installed on the server
        await m.load("coder")


async def test_model_ops_on_a_backend_without_them() -> None:
    cfg = parse_config(
        {
            "defaults": {"embedded": False},
            "backends": {"s": {"kind": "scripted"}, "c": {"kind": "scripted", "cloud": True}},
            "models": [{"name": "m", "backend": "s"}, {"name": "claude", "backend": "c"}],
        }
    )
    m = ModelManager(cfg, lambda n: ScriptedBackend(n, cloud=n == "c"))
    with pytest.raises(InvalidRequest) as ei:
        await m.load("m")
    assert "cannot load" in ei.value.message
    report = await m.setup()
    assert [(o.model, o.status, o.detail) for o in report.outcomes] == [
        ("m", "skipped", "scripted backends manage their models"),
        ("claude", "skipped", "cloud model: nothing to download"),
    ]
    assert report.ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "5m"),
        ("30m", "30m"),
        ("1h30m", "1h30m"),
        ("300", 300),
        (600, 600),
        ("-1", -1),
        (-5, -1),
        ("0", 0),
        ("-1m", -1),
        (2.5, 2),
    ],
)
def test_keep_alive_values(value: Any, expected: str | int) -> None:
    assert normalize_keep_alive(value, "5m") == expected


@pytest.mark.parametrize("value", ["5 minutes", "m5", "", "1d", True])
def test_bad_keep_alive_values(value: Any) -> None:
    with pytest.raises(InvalidRequest):
        normalize_keep_alive(value, "5m")
