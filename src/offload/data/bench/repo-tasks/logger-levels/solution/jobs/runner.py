"""Run a job, retrying it when it fails."""

from collections.abc import Callable

from logkit.logger import Logger


def run_job(name: str, job: Callable[[], object], logger: Logger, retries: int = 2) -> bool:
    logger.log("info", f"starting job {name}")
    for attempt in range(1, retries + 2):
        logger.log("debug", f"attempt {attempt} of job {name}")
        try:
            job()
        except Exception as exc:
            if attempt <= retries:
                logger.log("warning", f"job {name} failed ({exc}); retrying")
                continue
            logger.log("error", f"job {name} failed: {exc}")
            return False
        logger.log("info", f"job {name} succeeded")
        return True
    return False
