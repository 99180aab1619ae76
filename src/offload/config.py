"""Configuration: one ``offload.toml``, validated by pydantic into small value objects.

Lookup order: ``--config PATH`` → env ``OFFLOAD_CONFIG`` → ``<user config dir>/offload/offload.toml``.
No file at all is valid: the embedded backend with the bundled SmolLM2 model is then the whole inventory.
Secrets are never stored in the file: a backend names the environment variable that holds its key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_config_dir, user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from offload.errors import ConfigError
from offload.routing.policy_config import PolicyConfig
from offload.server.settings import ServerSettings

BackendKind = Literal["ollama", "openai_compat", "anthropic", "embedded", "scripted"]
Role = Literal["fast", "code", "large", "review", "vision", "embed", "chat", "reason", "cloud"]
Capability = Literal["tools", "vision", "json", "embed", "thinking"]

EMBEDDED_BACKEND = "embedded"
EMBEDDED_MODEL = "smollm2-135m"

DEFAULT_PORTS = {"ollama": 11434, "openai_compat": 1234}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendConfig(_Strict):
    """How to reach one backend."""

    name: str = ""
    kind: BackendKind
    base_url: str | None = None
    #: Name of the environment variable holding the API key (never the key itself).
    api_key_env: str | None = None
    timeout_s: float = Field(120.0, gt=0)
    connect_timeout_s: float = Field(3.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    retry_max_wait_s: float = Field(20.0, ge=0)
    #: Counts as cloud for routing and savings (defaults: anthropic and api.openai.com are cloud).
    cloud: bool | None = None
    # embedded only
    model_path: str | None = None
    n_ctx: int = Field(8192, ge=256)
    n_threads: int | None = Field(None, ge=1)
    # scripted only: path to a JSON file of queued answers (tests and demos)
    script: str | None = None

    @model_validator(mode="after")
    def _check(self) -> BackendConfig:
        if self.kind in ("ollama", "openai_compat", "anthropic") and not self.base_url:
            raise ValueError(f"a {self.kind} backend needs base_url")
        if self.base_url and not re.match(r"^https?://", self.base_url):
            raise ValueError("base_url must start with http:// or https://")
        return self

    @property
    def is_cloud(self) -> bool:
        if self.cloud is not None:
            return self.cloud
        if self.kind == "anthropic":
            return True
        return bool(self.base_url and "api.openai.com" in self.base_url)

    def api_key(self) -> str | None:
        """The key from the environment variable the config names, if any."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class ModelSpec(_Strict):
    """One model of the inventory."""

    name: str
    backend: str
    #: Name the backend knows the model by (defaults to ``name``).
    backend_model: str | None = None
    vram_gb: float = Field(0.0, ge=0)
    context_window: int = Field(8192, ge=256)
    roles: tuple[Role, ...] = ()
    capabilities: tuple[Capability, ...] = ()
    #: USD per million tokens (for cloud models; 0 for local ones).
    price_in: float = Field(0.0, ge=0)
    price_out: float = Field(0.0, ge=0)
    required: bool = True
    quantization: str | None = None
    description: str = ""

    @property
    def upstream_name(self) -> str:
        return self.backend_model or self.name


class Price(_Strict):
    """USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Defaults(_Strict):
    """Defaults that apply when a request does not say otherwise."""

    model: str = "auto"
    keep_alive: str = "5m"
    journal_path: str | None = None
    #: Days to keep finished journal entries: ``offload serve`` prunes older ones at start-up and then daily
    #: (``pending``/``queued`` rows are kept, savings totals too). ``None`` (the default) keeps everything.
    journal_retention_days: int | None = Field(None, gt=0, strict=True)
    #: The cloud model whose price a verified local answer avoids, when the policy names none.
    reference_model: str = "claude-sonnet-4-5"
    #: Add the embedded backend with the bundled model to the inventory.
    embedded: bool = True
    vram_budget_gb: float | None = Field(None, ge=0)
    max_tokens: int = Field(1024, ge=1)


class Config(_Strict):
    """The whole effective configuration."""

    defaults: Defaults = Field(default_factory=Defaults)
    backends: dict[str, BackendConfig] = Field(default_factory=dict)
    models: list[ModelSpec] = Field(default_factory=list)
    prices: dict[str, Price] = Field(default_factory=dict)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    server: ServerSettings = Field(default_factory=ServerSettings)
    source: str | None = Field(None, exclude=True)

    @field_validator("backends", mode="before")
    @classmethod
    def _name_backends(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ({**b, "name": k} if isinstance(b, dict) else b) for k, b in v.items()}
        return v

    @model_validator(mode="after")
    def _with_embedded_and_links(self) -> Config:
        backends = dict(self.backends)
        models = list(self.models)
        if self.defaults.embedded:
            if EMBEDDED_BACKEND not in backends:
                backends[EMBEDDED_BACKEND] = BackendConfig(name=EMBEDDED_BACKEND, kind="embedded")
            if backends[EMBEDDED_BACKEND].kind == "embedded" and not any(m.backend == EMBEDDED_BACKEND for m in models):
                models.append(
                    ModelSpec(
                        name=EMBEDDED_MODEL,
                        backend=EMBEDDED_BACKEND,
                        vram_gb=0.0,
                        context_window=backends[EMBEDDED_BACKEND].n_ctx,
                        roles=("fast", "code", "chat"),
                        capabilities=("json",),
                        description="SmolLM2-135M-Instruct Q4_1, in-process via llama.cpp (bundled)",
                    )
                )
        seen: set[str] = set()
        for i, m in enumerate(models):
            if m.backend not in backends:
                raise ValueError(
                    f"models[{i}] ({m.name!r}) names backend {m.backend!r}, which is not defined; "
                    f"defined backends: {sorted(backends)}"
                )
            if m.name in seen:
                raise ValueError(f"models[{i}]: model name {m.name!r} appears twice")
            seen.add(m.name)
        object.__setattr__(self, "backends", backends)
        object.__setattr__(self, "models", models)
        return self

    # -- lookups ---------------------------------------------------------------------------------------
    def model(self, name: str) -> ModelSpec | None:
        for m in self.models:
            if m.name == name:
                return m
        return None

    def backend_of(self, model: ModelSpec) -> BackendConfig:
        return self.backends[model.backend]

    def journal_path(self) -> Path:
        if self.defaults.journal_path:
            return Path(os.path.expandvars(self.defaults.journal_path)).expanduser()
        env = os.environ.get("OFFLOAD_HOME")
        base = Path(env) if env else Path(user_data_dir("offload", appauthor=False))
        return base / "journal.db"

    def secrets(self) -> list[str]:
        """Every configured secret value currently in the environment (for redaction)."""
        out = []
        for b in self.backends.values():
            key = b.api_key()
            if key:
                out.append(key)
        key = self.server.api_key()
        if key:
            out.append(key)
        return out

    def masked(self) -> dict[str, Any]:
        """The effective config as a dict, with every secret shown only as ``set``/``unset``."""
        data = self.model_dump(mode="json")
        for name, b in self.backends.items():
            if b.api_key_env:
                data["backends"][name]["api_key"] = "***set***" if b.api_key() else "***unset***"
        data["source"] = self.source or "(no file: built-in defaults)"
        return data


def default_config_path() -> Path:
    return Path(user_config_dir("offload", appauthor=False)) / "offload.toml"


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``--config`` → ``OFFLOAD_CONFIG`` → user config dir; ``None`` when no file is found."""
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise ConfigError(
                "config file not found",
                file=str(p),
                hint="check the path given to --config, or omit it to use the defaults",
            )
        return p
    env = os.environ.get("OFFLOAD_CONFIG")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ConfigError(
                "config file named by OFFLOAD_CONFIG not found",
                file=str(p),
                hint="fix or unset the OFFLOAD_CONFIG environment variable",
            )
        return p
    p = default_config_path()
    return p if p.is_file() else None


_SECRET_KEYS = re.compile(r"(^|_)(api_key|key|token|secret|password)$")


def _reject_inline_secrets(data: Any, file: str, path: str = "") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{path}.{k}" if path else str(k)
            if isinstance(v, str) and _SECRET_KEYS.search(str(k)) and not str(k).endswith("_env"):
                raise ConfigError(
                    "secrets must not be written in the config file",
                    file=file,
                    key=here,
                    hint=f'put the key in an environment variable and write {k}_env = "VAR_NAME" instead',
                )
            _reject_inline_secrets(v, file, here)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _reject_inline_secrets(v, file, f"{path}[{i}]")


def parse_config(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Validate a config mapping; errors name the file, the key and how to fix it."""
    _reject_inline_secrets(data, source)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err.get("loc", ())) or None
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
            hint = "remove it or check its spelling against docs/configuration.md"
        elif err.get("type") == "literal_error":
            hint = "use one of the allowed values listed above"
        else:
            hint = "see docs/configuration.md for the expected type and an example"
        raise ConfigError(msg, file=source, key=key, hint=hint) from None
    object.__setattr__(cfg, "source", source)
    return cfg


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Find, read and validate the configuration."""
    path = find_config_path(explicit)
    if path is None:
        return parse_config({}, source="(built-in defaults)").model_copy(update={"source": None})
    try:
        raw = path.read_bytes().decode("utf-8")
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}", file=str(path), hint="fix the syntax at the line and column shown"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path), hint="check the file's permissions") from None
    return parse_config(data, source=str(path))
