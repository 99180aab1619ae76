"""A real third-party OpenAI-compatible upstream: ``python -m llama_cpp.server`` serving the bundled GGUF,
configured as an ``openai_compat`` backend and reached through the gateway with the official ``openai`` SDK."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server]")

from offload.backends.embedded import bundled_model_path  # noqa: E402
from offload.config import parse_config  # noqa: E402
from offload.engine import Engine  # noqa: E402
from offload.server.app import create_app  # noqa: E402
from tests.fakes.server import free_port, serve_app  # noqa: E402

pytestmark = [pytest.mark.inference, pytest.mark.sdk, pytest.mark.slow]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "stderr.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--model_alias", "smollm2-upstream"]  # fmt: skip
    # stderr to a file: llama.cpp logs a lot while loading, and a full pipe would block the server
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start within 120 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_gateway_reaches_llama_cpp_server(llama_server: str, tmp_path: Path) -> None:
    openai = pytest.importorskip("openai")
    cfg = parse_config({
        "defaults": {"embedded": False},
        "backends": {"llamacpp": {"kind": "openai_compat", "base_url": f"{llama_server}/v1", "timeout_s": 300}},
        "models": [{"name": "smol-upstream", "backend": "llamacpp", "backend_model": "smollm2-upstream",
                    "context_window": 2048, "roles": ["chat", "fast", "code"]}],
    })  # fmt: skip
    engine = Engine(cfg, journal_path=tmp_path / "journal.db")
    with serve_app(create_app(engine, owns_engine=True)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="dummy", max_retries=0, timeout=300)
        resp = client.chat.completions.create(
            model="smol-upstream", messages=[{"role": "user", "content": "Say hello."}], max_tokens=24
        )
        assert resp.choices[0].message.content
        assert resp.usage is not None and resp.usage.completion_tokens > 0
        chunks = list(
            client.chat.completions.create(
                model="smol-upstream",
                messages=[{"role": "user", "content": "Count to three."}],
                max_tokens=24,
                stream=True,
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text
    rows = Engine(cfg, journal_path=tmp_path / "journal.db").journal.list()
    assert len(rows) == 2 and {r.status for r in rows} == {"ok"} and {r.backend for r in rows} == {"llamacpp"}
