"""schemathesis fuzzes the gateway's served OpenAPI description over a real socket: no 5xx, ever."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from offload.backends.scripted import ScriptedBackend  # noqa: E402
from offload.config import parse_config  # noqa: E402
from offload.engine import Engine  # noqa: E402
from offload.server.app import create_app  # noqa: E402
from tests.fakes.server import serve_app  # noqa: E402
from tests.server.conftest import base_config  # noqa: E402


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("st") / "journal.db"
    engine = Engine(
        parse_config(base_config()),
        backends={"local": ScriptedBackend("local", default="ok")},
        journal_path=path,
    )
    with serve_app(create_app(engine, owns_engine=True)) as url:
        yield url


def test_no_server_errors_anywhere(gateway_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway_url}/openapi.json")
    failures: list[str] = []
    calls: list[int] = []
    for op in schema.get_all_operations():
        operation = op.ok()

        strategy = operation.as_strategy()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=gateway_url, timeout=30)
            calls.append(response.status_code)
            try:
                case.validate_response(response, checks=(not_a_server_error,))
            except AssertionError as exc:  # collect, then report every operation at once
                failures.append(f"{case.method} {case.path}: {exc}")
                raise

        try:
            run()
        except AssertionError:
            continue
    assert not failures, "\n".join(failures[:10])
    assert len(calls) > 50 and all(code < 500 for code in calls)
