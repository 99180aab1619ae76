"""The one exception tree of offload.

Every error offload raises is an :class:`OffloadError`. Each carries a human message, a ``hint`` that says
how to fix the problem, a stable machine ``code`` and the HTTP status a gateway dialect should answer with.
Third-party exceptions are mapped into this tree at the boundary (``raise ... from exc``)::

    OffloadError
    ├── ConfigError                  invalid offload.toml (file, key, how to fix)
    ├── InvalidRequest               bad input from a caller (4xx)
    │   ├── UnknownModel             model name not in the inventory / not served by the backend
    │   ├── ContextOverflow          prompt larger than the model's context window
    │   ├── UnsupportedContent       e.g. an image sent to a text-only model
    │   ├── NotFound                 no such endpoint or resource (404)
    │   └── MethodNotAllowed         the endpoint exists, not for this method (405)
    ├── AuthError                    missing / wrong API key at the gateway
    ├── BackendError                 something went wrong talking to a backend
    │   ├── BackendUnavailable       connection refused, DNS, circuit breaker open
    │   ├── BackendTimeout           connect / read timeout
    │   ├── UpstreamHTTPError        non-2xx answer (status, redacted body)
    │   ├── ModelLoadError           e.g. a broken GGUF path for the embedded backend
    │   └── MalformedResponse        upstream answered something that is not its wire format
    ├── VerificationFailed           an answer failed its verifiers
    ├── NoRouteAvailable             every candidate failed or was down (attempts attached)
    ├── BudgetExceeded               cascade budget (attempts, wall time, cost) exhausted
    ├── Cancelled                    the caller went away / the request was cancelled
    ├── JournalError                 the journal database cannot be opened, read or written
    └── SandboxError                 the sandbox itself could not run
"""

from __future__ import annotations

from typing import Any


class OffloadError(Exception):
    """Base of every offload error: a message plus a hint on how to fix it."""

    code: str = "offload_error"
    http_status: int = 500
    retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} — {self.hint}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (already redacted by whoever built the message)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class ConfigError(OffloadError):
    """The configuration file is missing, unreadable or invalid."""

    code = "config_error"

    def __init__(
        self, message: str, *, file: str | None = None, key: str | None = None, hint: str | None = None
    ) -> None:
        where = ""
        if file:
            where = f"{file}: "
        if key:
            where += f"[{key}] "
        super().__init__(where + message, hint=hint, file=file, key=key)
        self.file = file
        self.key = key


class InvalidRequest(OffloadError):
    """The caller sent something offload cannot accept."""

    code = "invalid_request"
    http_status = 400


class UnknownModel(InvalidRequest):
    """The requested model is not in the inventory or not served by its backend."""

    code = "model_not_found"
    http_status = 404


class ContextOverflow(InvalidRequest):
    """The prompt does not fit in the model's context window."""

    code = "context_length_exceeded"


class UnsupportedContent(InvalidRequest):
    """The request holds content the model cannot take (e.g. images for a text model)."""

    code = "unsupported_content"


class NotFound(InvalidRequest):
    """No such endpoint or resource (HTTP 404)."""

    code = "not_found"
    http_status = 404


class MethodNotAllowed(InvalidRequest):
    """The endpoint exists but not for this HTTP method (HTTP 405)."""

    code = "method_not_allowed"
    http_status = 405


class AuthError(OffloadError):
    """Missing or wrong API key."""

    code = "authentication_error"
    http_status = 401


class BackendError(OffloadError):
    """A backend failed."""

    code = "backend_error"
    http_status = 502

    def __init__(self, message: str, *, backend: str | None = None, hint: str | None = None, **details: Any):
        super().__init__(message, hint=hint, backend=backend, **details)
        self.backend = backend


class BackendUnavailable(BackendError):
    """The backend cannot be reached (or its circuit breaker is open)."""

    code = "backend_unavailable"
    http_status = 503
    retryable = True


class BackendTimeout(BackendError):
    """The backend did not answer in time."""

    code = "backend_timeout"
    http_status = 504
    retryable = True


class UpstreamHTTPError(BackendError):
    """The backend answered with a non-success HTTP status."""

    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: str = "",
        backend: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, backend=backend, hint=hint, status=status)
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.retryable = status in (408, 409, 429) or status >= 500
        self.http_status = status if status in (400, 401, 403, 404, 408, 409, 413, 422, 429) else 502


class ModelLoadError(BackendError):
    """A model could not be loaded (e.g. a missing or corrupt GGUF file)."""

    code = "model_load_error"
    http_status = 500


class MalformedResponse(BackendError):
    """The backend answered something that is not its documented wire format."""

    code = "malformed_response"


class VerificationFailed(OffloadError):
    """An answer did not pass its verifiers."""

    code = "verification_failed"
    http_status = 422


class NoRouteAvailable(OffloadError):
    """No candidate could produce an accepted answer."""

    code = "no_route_available"
    http_status = 503

    def __init__(self, message: str, *, attempts: list[Any] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.attempts = attempts or []


class BudgetExceeded(NoRouteAvailable):
    """The cascade's budget (attempts, wall time or cost) ran out."""

    code = "budget_exceeded"


class Cancelled(OffloadError):
    """The request was cancelled (client disconnected or interrupted)."""

    code = "cancelled"
    http_status = 499


class JournalError(OffloadError):
    """The journal database cannot be opened, read or written."""

    code = "journal_error"
    http_status = 500


class SandboxError(OffloadError):
    """The sandbox could not run the code at all."""

    code = "sandbox_error"
