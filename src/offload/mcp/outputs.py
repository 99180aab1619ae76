"""Typed results of the MCP tools (pydantic): the single source of each tool's ``outputSchema``.

Every tool implementation in :mod:`offload.mcp.tools` is annotated to return one of the ``*Result`` models
below (built, hence validated, by the tool); the ``mcp`` SDK derives the tool's ``outputSchema`` from that
annotation and sends the result as ``structuredContent`` plus the same JSON as a text block. A key that is
sometimes left out (never ``null``) is declared with :func:`absent_unless_set`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import JsonDict

from offload.config import Capability, Role
from offload.mcp.inputs import Period
from offload.models.ops import PullStatus
from offload.routing.classify_profile import Complexity, Kind, Locality
from offload.routing.policy import Route, SkipReason

Verdict = Literal["verified", "unverified", "failed", "not_run"]
_VERDICT = "verified (checks passed), unverified (nothing to check), failed, or not_run."


def _is_none(value: Any) -> bool:
    return value is None


def _drop_null(schema: JsonDict) -> None:
    """The schema of a key that is either absent or set: no ``null`` arm, no default."""
    schema.pop("default", None)
    arms = schema.pop("anyOf", None)
    kept = [a for a in arms if a != {"type": "null"}] if isinstance(arms, list) else []
    if len(kept) == 1 and isinstance(kept[0], dict):
        schema.update(kept[0])
    elif kept:
        schema["anyOf"] = kept


def absent_unless_set(description: str) -> Any:
    """A field left out of the result (and optional in the schema) when it is ``None``; never sent as null."""
    return Field(None, description=description, exclude_if=_is_none, json_schema_extra=_drop_null)


# -- the answer of chat, run_task, review_code and generate_fixtures -----------------------------------------
class TokenCounts(BaseModel):
    """Tokens of one call."""

    input_tokens: int = Field(description="Prompt tokens.")
    output_tokens: int = Field(description="Answer tokens.")


class Usage(TokenCounts):
    """Tokens of the whole request (every attempt)."""

    total_tokens: int = Field(description="input_tokens + output_tokens.")


class AttemptInfo(BaseModel):
    """One try of one candidate model."""

    n: int = Field(description="1 for the first attempt, then 2, 3...")
    backend: str = Field(description="The backend that ran it.")
    model: str = Field(description="The inventory model tried.")
    status: Literal["ok", "rejected", "error", "skipped", "cancelled"] = Field(
        description="ok (answered), rejected (failed verification), error, skipped or cancelled."
    )
    verdict: Verdict = Field(description=_VERDICT)
    detail: str = Field(description="Why it was rejected or failed; empty when ok.")
    latency_s: float = Field(description="Wall-clock seconds.")
    usage: TokenCounts = Field(description="Tokens of this attempt.")


class RouteTaken(BaseModel):
    """Where the answer came from."""

    model: str = Field(description="The model that gave the answer.")
    backend: str = Field(description="Its backend.")
    why: str = Field(description="The routing decision in one line.")
    attempts: list[AttemptInfo] = Field(description="Every attempt, in order (escalations included).")


class Saving(BaseModel):
    """What the answer saved against the cloud reference model."""

    avoided_usd: float = Field(description="What the answer would have cost on reference_model (USD).")
    reference_model: str | None = Field(description="The cloud model the saving is measured against.")
    local: bool | None = Field(description="Whether a local model answered; null when not journaled.")
    counted: bool = Field(description="True when the savings ledger counts it: answered locally and verified.")
    cloud_spend_usd: float | None = absent_unless_set("USD spent on cloud attempts; absent when not journaled.")


class Answered(BaseModel):
    """The verdict, route, usage and saving every answering tool reports."""

    verdict: Verdict = Field(description=_VERDICT)
    route: RouteTaken = Field(description="The model that answered and every attempt.")
    usage: Usage = Field(description="Tokens of the whole request.")
    saving: Saving = Field(description="What the answer saved.")
    journal_id: str | None = Field(description="The request's journal entry (offload journal show ID).")


class AnswerResult(Answered):
    """The answer of chat or run_task."""

    answer: str = Field(description="The model's answer.")


class ReviewResult(Answered):
    """The result of review_code."""

    review: str = Field(description="The review: each problem with its line and a suggested fix.")


class FixturesResult(Answered):
    """The result of generate_fixtures."""

    records: list[Any] = Field(description="The records, each valid against the json_schema given.")
    count: int = Field(description="How many records (always the count asked for).")


# -- models ------------------------------------------------------------------------------------------------
class _ModelFields(BaseModel):
    name: str = Field(description="Inventory name (what model= takes).")
    backend: str = Field(description="The backend that serves it.")
    vram_gb: float = Field(description="Memory it needs when loaded (GB).")
    context_window: int = Field(description="Context window (tokens).")
    roles: list[Role] = Field(description="Roles the router uses it for.")
    capabilities: list[Capability] = Field(description="What it can do beyond text.")
    price_in: float = Field(description="USD per million input tokens (0 for local models).")
    price_out: float = Field(description="USD per million output tokens (0 for local models).")
    required: bool = Field(description="Whether offload setup must install it.")
    quantization: str | None = Field(description="Quantization, when configured.")
    description: str = Field(description="Free text from the configuration.")


class ModelRow(_ModelFields):
    """One inventory model and whether its backend has it."""

    status: Literal["installed", "not installed", "unknown"] = Field(
        description="unknown when the backend does not answer."
    )


class InventoryModel(_ModelFields):
    """One inventory model as configured."""

    backend_model: str | None = Field(description="The name its backend knows it by, when it differs.")


class ListModelsResult(BaseModel):
    """The model inventory."""

    models: list[ModelRow] = Field(description="Every inventory model, in configuration order.")


class BackendDetails(BaseModel):
    """What the backend reports about a model (Ollama /api/show)."""

    name: str = Field(description="The backend's name for the model.")
    backend: str = Field(description="The backend that reports it.")
    size_bytes: int | None = Field(description="Size on disk.")
    vram_bytes: int | None = Field(description="Memory in use, when loaded.")
    context_window: int | None = Field(description="Context window the backend reports (tokens).")
    family: str | None = Field(description="Model family, e.g. qwen2 or llama.")
    quantization: str | None = Field(description="Quantization level, e.g. Q4_K_M.")
    expires_at: str | None = Field(description="When a loaded model unloads (ISO 8601).")
    capabilities: list[str] | None = absent_unless_set("Capabilities the backend reports (e.g. tools, vision).")
    parameter_size: str | None = absent_unless_set("Parameter count, e.g. 7.6B.")
    format: str | None = absent_unless_set("Weights format, e.g. gguf.")


class ShowModelResult(BaseModel):
    """One inventory model, with what its backend reports."""

    model: InventoryModel = Field(description="The model as configured in the inventory.")
    backend_details: BackendDetails | None = Field(description="null when the backend cannot describe models.")


class PullModelResult(BaseModel):
    """The outcome of a pull."""

    model: str = Field(description="The inventory model.")
    status: PullStatus = Field(description="pulled, or present when it was already installed.")
    attempts: int = Field(description="Download attempts (a retry resumes where the last one stopped).")
    listed: bool = Field(description="Whether the backend lists the model afterwards.")


class LoadedModelRow(BaseModel):
    """A model in memory now."""

    name: str = Field(description="Inventory name when known, else the backend's name.")
    backend: str = Field(description="The backend that holds it.")
    vram_gb: float = Field(description="Memory it uses (GB).")
    size_gb: float | None = Field(description="Size (GB), when reported.")
    expires_at: str | None = Field(description="When it unloads (ISO 8601), when reported.")
    expires_in: str = Field(description="When it unloads, for people: 'in 4m 10s', 'never (pinned)', '?'.")
    in_inventory: bool = Field(description="Whether it is an inventory model.")
    context_window: int | None = Field(description="Context window it was loaded with (tokens).")


class PsResult(BaseModel):
    """Models loaded in memory now."""

    loaded: list[LoadedModelRow] = Field(description="Loaded models, on every backend that can tell.")
    total_vram_gb: float = Field(description="Memory they use together (GB).")


# -- reports -----------------------------------------------------------------------------------------------
class SavingsTotals(BaseModel):
    """Ledger totals over a period, or over one group of a breakdown."""

    key: str = Field(description="'all' for the totals; the day, model or kind in a breakdown.")
    requests: int = Field(description="Requests journaled.")
    ok: int = Field(description="Requests answered.")
    errors: int = Field(description="Requests that failed.")
    local_accepted: int = Field(description="Answers from local models.")
    verified_local: int = Field(description="Local answers that passed verification (the ones counted).")
    unverified_local: int = Field(description="Local answers accepted without verification (not counted).")
    attempts: int = Field(description="Model attempts, escalations included.")
    tokens_local_in: int = Field(description="Input tokens on local models.")
    tokens_local_out: int = Field(description="Output tokens on local models.")
    tokens_cloud_in: int = Field(description="Input tokens on cloud models.")
    tokens_cloud_out: int = Field(description="Output tokens on cloud models.")
    cloud_spend_usd: float = Field(description="USD spent on cloud models.")
    avoided_usd: float = Field(description="Cloud cost avoided by verified local answers (USD).")
    unverified_avoided_usd: float = Field(description="Cost avoided by unverified local answers (not counted).")
    latency_s: float = Field(description="Total wall-clock seconds.")
    local_acceptance_rate: float = Field(description="local_accepted / ok (0 when nothing was answered).")
    tokens_local: int = Field(description="tokens_local_in + tokens_local_out.")
    tokens_cloud: int = Field(description="tokens_cloud_in + tokens_cloud_out.")


class SavingsReportResult(BaseModel):
    """What local models saved over a period."""

    period: Period = Field(description="today (since local midnight), 7d, or all.")
    totals: SavingsTotals = Field(description="Totals over the period (key 'all').")
    by_day: list[SavingsTotals] | None = absent_unless_set("Per day; present when by=day.")
    by_model: list[SavingsTotals] | None = absent_unless_set("Per model; present when by=model.")
    by_kind: list[SavingsTotals] | None = absent_unless_set("Per task kind; present when by=kind.")


class RouteProfile(BaseModel):
    """What the router concluded about the prompt."""

    kind: Kind = Field(description="The task kind.")
    complexity: Complexity = Field(description="How hard the task looks.")
    locality: Locality = Field(description="any, or local / cloud when the request insists.")
    needs_tools: bool = Field(description="The request carries tools.")
    has_images: bool = Field(description="The request carries images.")
    needs_json: bool = Field(description="The answer must be JSON.")
    estimated_tokens: int = Field(description="Estimated input tokens.")
    reasons: list[str] = Field(description="Why, one conclusion each.")


class RouteCandidate(BaseModel):
    """A model the cascade would try, in order."""

    model: str = Field(description="Inventory name.")
    backend: str = Field(description="Its backend.")
    cloud: bool = Field(description="Whether it is a cloud model.")
    loaded: bool = Field(description="Whether it is in memory now.")
    max_attempts: int = Field(description="How many times the cascade may try it.")
    why: str = Field(description="Why it is in the route.")


class RouteSkip(BaseModel):
    """A model the policy left out."""

    model: str = Field(description="Inventory name.")
    backend: str = Field(description="Its backend.")
    reason: SkipReason = Field(description="What ruled it out.")
    detail: str = Field(description="The specifics, e.g. the context window that was too small.")


class RouteExplanation(BaseModel):
    """Where a prompt would go and why; nothing is run."""

    profile: RouteProfile = Field(description="What the router concluded about the prompt.")
    rule: str = Field(description="The policy rule (or scenario, or model name) that chose the candidates.")
    candidates: list[RouteCandidate] = Field(description="The models the cascade would try, in order.")
    skipped: list[RouteSkip] = Field(description="The models left out, each with why.")
    reference_model: str | None = Field(description="The cloud model savings would be measured against.")
    notes: list[str] = Field(description="Anything else the policy noted.")

    @classmethod
    def of(cls, route: Route) -> RouteExplanation:
        """The explanation of a resolved route."""
        p = route.profile
        return cls(
            profile=RouteProfile.model_validate(p, from_attributes=True),
            rule=route.rule,
            candidates=[RouteCandidate(model=c.name, backend=c.backend, cloud=c.is_cloud, loaded=c.loaded,
                                       max_attempts=c.max_attempts, why=c.why) for c in route.candidates],
            skipped=[RouteSkip.model_validate(s, from_attributes=True) for s in route.skipped],
            reference_model=route.reference_model,
            notes=list(route.notes),
        )  # fmt: skip
