"""The ``[policy]`` section of offload.toml (placeholder until the router lands)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PolicyConfig(BaseModel):
    """Routing policy; see docs/routing.md."""

    model_config = ConfigDict(extra="allow", frozen=True)
