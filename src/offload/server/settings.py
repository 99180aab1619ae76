"""The ``[server]`` section of offload.toml."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PORT = 8787


class ServerSettings(BaseModel):
    """Where and how ``offload serve`` listens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    #: Environment variable holding the gateway's own API key (required to bind beyond loopback).
    api_key_env: str | None = "OFFLOAD_API_KEY"
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None
