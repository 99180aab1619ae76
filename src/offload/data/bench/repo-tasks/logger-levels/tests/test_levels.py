import pytest

from jobs.runner import run_job
from logkit.logger import Logger


def flaky(failures):
    state = {"left": failures}

    def job():
        if state["left"] > 0:
            state["left"] -= 1
            raise RuntimeError("boom")

    return job


def test_logger_levels():
    log = Logger(min_level="warning")
    log.log("info", "hidden")
    log.log("warning", "careful")
    log.log("error", "broken")
    assert log.lines == ["WARNING careful", "ERROR broken"]
    assert Logger().lines == []


def test_bad_levels():
    with pytest.raises(ValueError):
        Logger().log("loud", "x")
    with pytest.raises(ValueError):
        Logger(min_level="verbose")


def test_runner_success_after_retry():
    log = Logger()
    assert run_job("build", flaky(1), log) is True
    assert log.lines == [
        "INFO starting job build",
        "WARNING job build failed (boom); retrying",
        "INFO job build succeeded",
    ]


def test_runner_failure_with_debug():
    log = Logger(min_level="debug")
    assert run_job("deploy", flaky(5), log, retries=1) is False
    assert log.lines == [
        "INFO starting job deploy",
        "DEBUG attempt 1 of job deploy",
        "WARNING job deploy failed (boom); retrying",
        "DEBUG attempt 2 of job deploy",
        "ERROR job deploy failed: boom",
    ]
