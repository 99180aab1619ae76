"""Model operations: set up the inventory (check backends, pull, verify), list loaded models, load and unload.

``setup`` checks every configured backend and, for one that is down, says exactly how to start it; it then
pulls the inventory's required models (the optional ones too with ``optional=True``) on backends that can
pull (Ollama), reporting the backend's streamed progress, resuming an interrupted pull (Ollama keeps the
bytes already downloaded, so pulling again continues where it stopped), and finally checks that each model
is listed by its backend. ``load``/``unload`` use the backend's ``keep_alive``; the default keep-alive is
``[defaults] keep_alive`` from the config.

This module is the public face; the work is split by concern:

- :mod:`offload.models.ops_records` — the returned records and the setup events;
- :mod:`offload.models.ops_base` — construction and inventory lookups;
- :mod:`offload.models.ops_setup` — backend checks, pulls with resume, ``setup``, :func:`start_hint`;
- :mod:`offload.models.ops_loaded` — ``ps``, load / unload / show, :func:`normalize_keep_alive`.
"""

from __future__ import annotations

from offload.models.ops_loaded import LoadedOps, normalize_keep_alive
from offload.models.ops_records import (
    BackendCheck,
    EventKind,
    LoadedModel,
    OnEvent,
    OpsEvent,
    PullOutcome,
    PullStatus,
    SetupReport,
)
from offload.models.ops_setup import SetupOps, start_hint


class ModelManager(SetupOps, LoadedOps):
    """Model operations over the configured backends (built from a config and a backend lookup).

    Construct it with ``ModelManager(config, backend_lookup, max_resumes=3, resume_delay_s=1.0, sleep=...,
    clock=..., board=None)`` or :meth:`from_engine`. Setup and pulls come from :class:`SetupOps`; ``ps``,
    load, unload and show from :class:`LoadedOps`.
    """


__all__ = [
    "BackendCheck",
    "EventKind",
    "LoadedModel",
    "ModelManager",
    "OnEvent",
    "OpsEvent",
    "PullOutcome",
    "PullStatus",
    "SetupReport",
    "normalize_keep_alive",
    "start_hint",
]
