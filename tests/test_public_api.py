"""The public API is exactly what ``offload.__all__`` lists, and every name resolves."""

from __future__ import annotations

import offload

PINNED = [
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


def test_all_is_pinned() -> None:
    assert sorted(offload.__all__) == sorted(PINNED)


def test_every_public_name_resolves() -> None:
    for name in offload.__all__:
        assert getattr(offload, name) is not None, name


def test_errors_share_one_root() -> None:
    for name in offload.__all__:
        obj = getattr(offload, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, offload.OffloadError), name
