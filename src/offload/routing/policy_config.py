"""The ``[policy]`` section of offload.toml: routing rules, budgets, the circuit breaker, Claude Code scenarios.

Only data and validation live here; :mod:`offload.routing.policy` turns it into routes. The defaults encode
the routing table documented in docs/routing.md. Rules you write are matched first, then (unless
``use_default_rules = false``) the built-in ones, so one rule of your own never silently drops the rest.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from offload.routing.classify import CODE_KINDS, Complexity, Kind

#: Inventory roles (keep equal to ``offload.config.Role``; a test checks it).
RoleName = Literal["fast", "code", "large", "review", "vision", "embed", "chat", "reason", "cloud"]
#: How a rule's candidates are ordered: cheapest first (local before cloud, small before large), strongest
#: first (cloud, then the largest local), or exactly as listed.
Prefer = Literal["cheapest", "strongest", "as_listed"]
#: ``true``: accept an unverified local answer; ``false``: escalate and never return one;
#: ``"last_resort"``: escalate, but return the best unverified answer when nothing verified comes.
AcceptUnverified = bool | Literal["last_resort"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CandidateRef(_Strict):
    """One entry of a rule's candidate list: every inventory model with ``role``, or the model ``model``."""

    role: RoleName | None = None
    model: str | None = None
    max_attempts: int = Field(default=1, ge=1, le=10)
    #: Feed the failing check back to this candidate on its next attempt.
    repair: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> CandidateRef:
        if (self.role is None) == (self.model is None):
            raise ValueError('a candidate names exactly one of role = "..." or model = "..."')
        return self

    @property
    def label(self) -> str:
        return f"role {self.role}" if self.role else f"model {self.model}"


def _c(role: str, attempts: int = 1, repair: bool = False) -> CandidateRef:
    return CandidateRef(role=role, max_attempts=attempts, repair=repair)  # type: ignore[arg-type]


class Rule(_Strict):
    """Which candidates serve a (kind, complexity); an empty ``kinds`` / ``complexities`` matches any."""

    name: str = ""
    kinds: tuple[Kind, ...] = Field(default=(), validation_alias=AliasChoices("kinds", "kind"))
    complexities: tuple[Complexity, ...] = Field(
        default=(), validation_alias=AliasChoices("complexities", "complexity")
    )
    candidates: tuple[CandidateRef, ...] = Field(min_length=1)
    prefer: Prefer = "cheapest"
    #: ``None``: the policy's default for the kind (``accept_unverified`` / ``accept_unverified_code``).
    accept_unverified: AcceptUnverified | None = None
    max_attempts_total: int | None = Field(default=None, ge=1, le=50)
    max_wall_s: float | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)

    @field_validator("kinds", "complexities", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    def matches(self, kind: str, complexity: str) -> bool:
        return (not self.kinds or kind in self.kinds) and (not self.complexities or complexity in self.complexities)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"{'/'.join(self.kinds) or 'any kind'} · {'/'.join(self.complexities) or 'any complexity'}"


class ClaudeCodePolicy(_Strict):
    """Where the gateway sends Claude Code traffic, by scenario (read by ``offload.routing.scenarios`` too).

    Each scenario names a target: ``"local"``, ``"cloud"`` or an inventory model name. Unset scenarios use the
    default: with a cloud model configured every scenario but ``background`` goes to the cloud; with none,
    everything stays local.
    """

    #: A request with more input tokens than this is ``long_context``.
    long_context_tokens: int = Field(default=60_000, ge=1_000)
    background: str | None = None
    long_context: str | None = None
    thinking: str | None = None
    web_search: str | None = None
    images: str | None = None
    main_loop: str | None = None

    def target(self, scenario: str, *, cloud_configured: bool) -> str:
        """``"local"``, ``"cloud"`` or a model name for ``scenario``."""
        value = getattr(self, scenario, None)
        if value:
            return str(value)
        return "cloud" if cloud_configured and scenario != "background" else "local"


class BreakerConfig(_Strict):
    """Per-backend circuit breaker: open after N failures, cool down (growing), then one probe."""

    failures_to_open: int = Field(default=3, ge=1, le=100)
    #: A refused connection (nothing listening) opens the breaker at once: a dead backend costs one failure.
    open_on_unavailable: bool = True
    base_cooldown_s: float = Field(default=2.0, gt=0)
    max_cooldown_s: float = Field(default=120.0, gt=0)
    #: A half-open probe that has not reported after this long lets another probe through.
    probe_timeout_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> BreakerConfig:
        if self.max_cooldown_s < self.base_cooldown_s:
            raise ValueError("max_cooldown_s must be at least base_cooldown_s")
        return self


_LOCAL_CODE = (_c("code", 2, True), _c("large", 2, True), _c("cloud"))
_STRONG_CODE = (_c("cloud"), _c("large", 2, True), _c("code", 2, True))

#: The documented default table (docs/routing.md). Order matters: the first matching rule wins.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(name="final-visual-check", kinds=("vision",), complexities=("complex",), prefer="strongest",
         candidates=(_c("cloud"), _c("vision")), accept_unverified=True),
    Rule(name="screenshot-prescreen", kinds=("vision",), candidates=(_c("vision"), _c("cloud"))),
    Rule(name="embeddings", kinds=("embedding",), candidates=(_c("embed"),)),
    Rule(name="generated-data", kinds=("mock_api", "fixtures"),
         candidates=(_c("fast", 2, True), _c("code", 2, True), _c("chat"), _c("large", 2, True), _c("cloud"))),
    Rule(name="review-prefilter", kinds=("review",),
         candidates=(_c("review"), _c("code"), _c("large"), _c("cloud"))),
    Rule(name="explanations-and-docs", kinds=("explain",),
         candidates=(_c("fast"), _c("chat"), _c("code"), _c("large"), _c("cloud"))),
    Rule(name="local-code", kinds=("code_generation", "refactor", "test_generation", "debug"),
         complexities=("simple", "moderate"), candidates=_LOCAL_CODE),
    Rule(name="architecture", kinds=("architecture",), prefer="strongest",
         candidates=(_c("cloud"), _c("reason"), _c("large"), _c("code"))),
    Rule(name="feature-implementation", kinds=("code_generation", "refactor", "test_generation", "debug"),
         complexities=("complex",), prefer="strongest", accept_unverified=True, candidates=_STRONG_CODE),
    Rule(name="chat", kinds=("chat",), candidates=(_c("chat"), _c("fast"), _c("code"), _c("large"), _c("cloud"))),
    Rule(name="anything-else", candidates=(_c("code"), _c("chat"), _c("fast"), _c("large"), _c("cloud"))),
)  # fmt: skip


class PolicyConfig(_Strict):
    """Routing policy (``[policy]`` in offload.toml); see docs/routing.md."""

    rules: tuple[Rule, ...] = ()
    #: Match the built-in rules after yours.
    use_default_rules: bool = True
    #: Unverified answers of non-code tasks (free text with nothing to check).
    accept_unverified: AcceptUnverified = True
    #: Unverified answers of code tasks (code_generation, refactor, test_generation, debug).
    accept_unverified_code: AcceptUnverified = "last_resort"
    max_attempts_total: int = Field(default=6, ge=1, le=50)
    max_wall_s: float = Field(default=300.0, gt=0)
    max_cost_usd: float = Field(default=0.50, ge=0)
    #: The cloud model whose price a verified local answer avoids (default: ``[defaults] reference_model``).
    reference_model: str | None = None
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    claude_code: ClaudeCodePolicy = Field(default_factory=ClaudeCodePolicy)

    def effective_rules(self) -> tuple[Rule, ...]:
        """Your rules first, then the built-in table (unless ``use_default_rules = false``)."""
        return self.rules + DEFAULT_RULES if self.use_default_rules else self.rules

    def rule_for(self, kind: str, complexity: str) -> Rule | None:
        return next((r for r in self.effective_rules() if r.matches(kind, complexity)), None)

    def unverified_default(self, kind: str) -> AcceptUnverified:
        return self.accept_unverified_code if kind in CODE_KINDS else self.accept_unverified


__all__ = [
    "DEFAULT_RULES", "AcceptUnverified", "BreakerConfig", "CandidateRef", "ClaudeCodePolicy", "PolicyConfig",
    "Prefer", "RoleName", "Rule",
]  # fmt: skip
