"""offload: do the cheap, private work on your local models and use the cloud only where it is needed.

Public API (pinned by tests/test_public_api.py)::

    from offload import Offload
    o = Offload()                       # offload.toml, or the bundled embedded model when there is none
    answer = o.run("Write is_prime(n)") # routed, verified, journaled, metered
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Public names are imported lazily (PEP 562) so `import offload.types` stays cheap and the CLI starts fast.
_WHERE = {
    "Offload": "offload.api",
    "Engine": "offload.engine",
    "RequestContext": "offload.engine",
    "Backend": "offload.backends.base",
    "Capabilities": "offload.backends.base",
    "ScriptedBackend": "offload.backends.scripted",
    "BackendConfig": "offload.config",
    "Config": "offload.config",
    "ModelSpec": "offload.config",
    "load_config": "offload.config",
    "Task": "offload.routing.task",
    "VerifySpec": "offload.routing.task",
}
_ERRORS = [
    "AuthError",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "BudgetExceeded",
    "Cancelled",
    "ConfigError",
    "ContextOverflow",
    "InvalidRequest",
    "MalformedResponse",
    "ModelLoadError",
    "NoRouteAvailable",
    "OffloadError",
    "SandboxError",
    "UnknownModel",
    "UnsupportedContent",
    "UpstreamHTTPError",
    "VerificationFailed",
]
_TYPES = [
    "Attempt",
    "ChatRequest",
    "ChatResponse",
    "EmbedResult",
    "ImagePart",
    "Message",
    "ResponseFormat",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "Timings",
    "ToolCall",
    "ToolCallEvent",
    "ToolSpec",
    "Usage",
]
_WHERE.update({n: "offload.errors" for n in _ERRORS})
_WHERE.update({n: "offload.types" for n in _TYPES})


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'offload' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from offload.api import Offload
    from offload.backends.base import Backend, Capabilities
    from offload.backends.scripted import ScriptedBackend
    from offload.config import BackendConfig, Config, ModelSpec, load_config
    from offload.engine import Engine, RequestContext
    from offload.errors import (
        AuthError,
        BackendError,
        BackendTimeout,
        BackendUnavailable,
        BudgetExceeded,
        Cancelled,
        ConfigError,
        ContextOverflow,
        InvalidRequest,
        MalformedResponse,
        ModelLoadError,
        NoRouteAvailable,
        OffloadError,
        SandboxError,
        UnknownModel,
        UnsupportedContent,
        UpstreamHTTPError,
        VerificationFailed,
    )
    from offload.routing.task import Task, VerifySpec
    from offload.types import (
        Attempt,
        ChatRequest,
        ChatResponse,
        EmbedResult,
        ImagePart,
        Message,
        ResponseFormat,
        StreamEnd,
        StreamEvent,
        TextDelta,
        TextPart,
        Timings,
        ToolCall,
        ToolCallEvent,
        ToolSpec,
        Usage,
    )

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "AuthError",
    "Backend",
    "BackendConfig",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "BudgetExceeded",
    "Cancelled",
    "Capabilities",
    "ChatRequest",
    "ChatResponse",
    "Config",
    "ConfigError",
    "ContextOverflow",
    "EmbedResult",
    "Engine",
    "ImagePart",
    "InvalidRequest",
    "MalformedResponse",
    "Message",
    "ModelLoadError",
    "ModelSpec",
    "NoRouteAvailable",
    "Offload",
    "OffloadError",
    "RequestContext",
    "ResponseFormat",
    "SandboxError",
    "ScriptedBackend",
    "StreamEnd",
    "StreamEvent",
    "Task",
    "TextDelta",
    "TextPart",
    "Timings",
    "ToolCall",
    "ToolCallEvent",
    "ToolSpec",
    "UnknownModel",
    "UnsupportedContent",
    "UpstreamHTTPError",
    "Usage",
    "VerificationFailed",
    "VerifySpec",
    "__version__",
    "load_config",
]
