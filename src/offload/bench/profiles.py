"""Bench profiles: which model(s) solve the tasks, how they sample, and the budget of each task.

A profile is a TOML file (see ``docs/bench.md``)::

    name = "qwen3-coder-30b"
    [builder]                     # writes the code (every profile has one)
    backend = "ollama"            # a backend of offload.toml, or one defined in [backends.*] below
    model = "qwen3-coder:30b"
    temperature = 0.2
    context = 32768               # num_ctx for Ollama; recorded for every backend
    [planner]                     # optional: makes the profile a hybrid (plan -> build)
    ...
    [budget]
    max_iterations = 3
    [backends.ollama]             # used when offload.toml defines no backend of that name
    kind = "ollama"
    base_url = "http://127.0.0.1:11434"

Bundled examples live in ``offload/data/bench/profiles``; ``offload bench list`` shows them.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from offload.config import BackendConfig
from offload.errors import ConfigError

__all__ = ["Budget", "Profile", "RoleSpec", "bundled_profile_names", "load_profile", "parse_profile"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(_Strict):
    """One model's part in a profile (planner or builder) and how it samples."""

    #: Backend name (offload.toml or the profile's [backends]); empty = the inventory model's backend.
    backend: str = ""
    #: Model name: the backend's own name, or an inventory model of offload.toml.
    model: str
    temperature: float | None = Field(0.2, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=1)
    seed: int | None = None
    max_tokens: int = Field(2048, ge=1)
    #: Context window to request (Ollama num_ctx; the embedded backend's n_ctx); recorded either way.
    context: int | None = Field(None, ge=256)
    #: How long a keep_alive backend (Ollama) keeps the model loaded during the profile.
    keep_alive: str | None = "30m"
    #: Backend-specific request options passed through untouched.
    options: dict[str, Any] = Field(default_factory=dict)
    #: Replaces the built-in system prompt of this role.
    system: str | None = None


class Budget(_Strict):
    """What one task may spend before it stops."""

    #: Build -> verify rounds.
    max_iterations: int = Field(3, ge=1, le=50)
    #: Wall-clock seconds for the whole task, all stages included.
    max_wall_time_s: float = Field(900.0, gt=0)
    #: Broken iterations (malformed answer, syntax error, test timeout) before the task stops.
    max_failures: int = Field(3, ge=1)
    #: Seconds one model call (plan or build) may take.
    stage_timeout_s: float = Field(600.0, gt=0)


class Profile(_Strict):
    """A single model, or a planner + builder pair, with a budget."""

    name: str = Field(min_length=1)
    description: str = ""
    builder: RoleSpec
    planner: RoleSpec | None = None
    budget: Budget = Field(default_factory=lambda: Budget.model_validate({}))
    backends: dict[str, BackendConfig] = Field(default_factory=dict)
    source: str | None = Field(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _name_backends(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("backends"), dict):
            data = dict(data)
            data["backends"] = {k: {**v, "name": k} if isinstance(v, dict) else v for k, v in data["backends"].items()}
        return data

    @property
    def kind(self) -> Literal["single", "hybrid"]:
        return "hybrid" if self.planner is not None else "single"

    def roles(self) -> dict[str, RoleSpec]:
        """``{"planner": ..., "builder": ...}`` (planner only for hybrids)."""
        out = {"planner": self.planner} if self.planner is not None else {}
        return {**out, "builder": self.builder}


def profiles_dir() -> Path:
    """Where the bundled example profiles live."""
    return Path(str(resources.files("offload") / "data" / "bench" / "profiles"))


def bundled_profile_names() -> list[str]:
    """Names of the bundled example profiles (file stems)."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def parse_profile(data: dict[str, Any], source: str = "<dict>") -> Profile:
    """Validate a profile mapping; errors name the file and the key."""
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err.get("loc", ())) or None
        msg = "unknown key" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid value")
        raise ConfigError(msg, file=source, key=key, hint="see the profile format in docs/bench.md") from None
    return profile.model_copy(update={"source": source})


def load_profile(ref: str | Path) -> Profile:
    """A bundled profile by name (``embedded``, ``qwen3-coder-30b`` ...) or a profile TOML file by path."""
    path = Path(ref).expanduser()
    if not path.is_file():
        bundled = profiles_dir() / f"{ref}.toml"
        if not bundled.is_file():
            raise ConfigError(
                f"no profile named {str(ref)!r}",
                hint=f"use a TOML file path or one of: {', '.join(bundled_profile_names())}",
            )
        path = bundled
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path), hint="fix the syntax at the line shown") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path), hint="check the path and permissions") from exc
    data.setdefault("name", path.stem)
    return parse_profile(data, source=str(path))
