"""Workflows: ordered phases, each needing roles or named models — the planner's input.

A workflow file is TOML::

    name = "web app"

    [[phases]]
    name = "build"
    needs = ["code", "qwen2.5-coder:14b"]   # roles, or inventory model names
    description = "features and their tests"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from offload.config import Role
from offload.errors import ConfigError

ROLES: frozenset[str] = frozenset(get_args(Role))


@dataclass(frozen=True)
class Phase:
    """One phase of a workflow and what it needs (roles or inventory model names)."""

    name: str
    needs: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Workflow:
    """An ordered list of phases."""

    name: str
    phases: tuple[Phase, ...]


DEFAULT_WORKFLOW = Workflow(
    "default",
    (
        Phase("understand", ("large", "embed"), "read the spec and the code base, index it"),
        Phase("scaffold + mock data", ("code", "fast"), "project skeleton, fixtures and mock APIs"),
        Phase("build", ("code",), "write the features"),
        Phase("test + verify", ("code", "vision"), "write and run tests, check UI screenshots"),
        Phase("harden", ("review", "large"), "review for bugs, security holes and edge cases"),
        Phase("deliver", ("chat", "fast"), "docs, changelog, release notes"),
    ),
)


# -- workflow files ----------------------------------------------------------------------------------------------
def parse_workflow(data: Mapping[str, Any], source: str = "<workflow>") -> Workflow:
    """A workflow from ``{"name": ..., "phases": [{"name", "needs", "description"}]}`` (e.g. parsed TOML)."""
    phases_raw = data.get("phases")
    if not isinstance(phases_raw, list) or not phases_raw:
        raise ConfigError(
            "a workflow needs at least one [[phases]] entry",
            file=source,
            key="phases",
            hint='add [[phases]] with name = "build" and needs = ["code"]',
        )
    phases: list[Phase] = []
    for i, p in enumerate(phases_raw):
        key = f"phases[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise ConfigError("each phase needs a name", file=source, key=key, hint='write name = "build"')
        needs = p.get("needs", [])
        if not isinstance(needs, list) or not all(isinstance(n, str) and n.strip() for n in needs):
            raise ConfigError(
                "needs must be a list of roles or model names",
                file=source,
                key=f"{key}.needs",
                hint=f"roles: {', '.join(sorted(ROLES))}; or an inventory model name",
            )
        unknown = set(p) - {"name", "needs", "description"}
        if unknown:
            raise ConfigError(
                f"unknown key {sorted(unknown)[0]!r}",
                file=source,
                key=key,
                hint="a phase has name, needs and description",
            )
        phases.append(Phase(p["name"].strip(), tuple(n.strip() for n in needs), str(p.get("description", ""))))
    return Workflow(str(data.get("name") or Path(source).stem), tuple(phases))


def load_workflow(path: str | Path) -> Workflow:
    """Read a workflow TOML file."""
    p = Path(path).expanduser()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("workflow file not found", file=str(p), hint="check the path given to --workflow") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p), hint="check the file's permissions") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(p), hint="fix the syntax at the line shown") from None
    return parse_workflow(data, str(p))


__all__ = ["DEFAULT_WORKFLOW", "ROLES", "Phase", "Workflow", "load_workflow", "parse_workflow"]
