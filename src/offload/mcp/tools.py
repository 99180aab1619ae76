"""The MCP tools: typed, size-limited inputs, each answered through the :class:`~offload.engine.Engine`.

Every tool validates its input with pydantic (the limits below are part of each tool's input schema) and
returns one of the result models of :mod:`offload.mcp.outputs` (its return annotation is the tool's output
schema); problems raise :mod:`offload.errors`, which :mod:`offload.mcp.server` turns into a structured error
result (``{"error": {"code", "message", "hint"}}``, ``isError: true``).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import Field

from offload.engine import Engine, RequestContext
from offload.errors import InvalidRequest, OffloadError, VerificationFailed
from offload.mcp.inputs import (
    MAX_MESSAGES,
    MAX_RECORDS,
    MAX_SCHEMA_CHARS,
    MAX_TEXT,
    ChatMessage,
    Kind,
    MaxTokens,
    ModelName,
    Period,
    ShortText,
    canonical_messages,
)
from offload.mcp.outputs import (
    Answered,
    AnswerResult,
    AttemptInfo,
    BackendDetails,
    FixturesResult,
    InventoryModel,
    ListModelsResult,
    LoadedModelRow,
    ModelRow,
    PsResult,
    PullModelResult,
    ReviewResult,
    RouteExplanation,
    RouteTaken,
    Saving,
    SavingsReportResult,
    SavingsTotals,
    ShowModelResult,
    Usage,
)
from offload.models.ops import ModelManager, OpsEvent
from offload.routing.task import Task, VerifySpec
from offload.store.ledger import LedgerTotals, period_start
from offload.types import ChatRequest, ChatResponse, ResponseFormat

#: ``(completed bytes, total bytes or None, status)``; awaited (e.g. an MCP context's ``report_progress``).
Progress = Callable[[float, float | None, str], Awaitable[Any]]


class OffloadTools:
    """The tool implementations over one engine (each returns its result model; see :mod:`offload.mcp.outputs`)."""

    def __init__(self, engine: Engine, manager: ModelManager | None = None) -> None:
        self.engine = engine
        self.manager = manager or ModelManager.from_engine(engine)
        self.ctx = RequestContext(source="mcp", client="mcp")

    async def _answered(self, resp: ChatResponse) -> dict[str, Any]:
        """The fields of :class:`Answered` (verdict, route, usage, saving, journal id) as keyword arguments."""
        saving = Saving(avoided_usd=0.0, reference_model=None, local=None, counted=False)
        if resp.journal_id:
            entry = await self.engine.journal.aget(resp.journal_id)
            saving = Saving(
                avoided_usd=round(entry.avoided_usd or 0.0, 6),
                reference_model=entry.reference_model,
                local=entry.local,
                counted=bool(entry.local and entry.verdict == "verified"),
                cloud_spend_usd=round(sum(a.cost_equiv_usd or 0 for a in entry.attempts if a.local is False), 6),
            )
        attempts = [AttemptInfo.model_validate(a.model_dump()) for a in resp.attempts]
        answered = Answered(
            verdict=resp.verdict,
            route=RouteTaken(model=resp.model, backend=resp.backend, why=resp.route_reason, attempts=attempts),
            usage=Usage(input_tokens=resp.usage.input_tokens, output_tokens=resp.usage.output_tokens,
                        total_tokens=resp.usage.total_tokens),
            saving=saving,
            journal_id=resp.journal_id,
        )  # fmt: skip
        return dict(answered)

    # -- models ---------------------------------------------------------------------------------------------
    async def list_models(self) -> ListModelsResult:
        """The model inventory: backend, VRAM, context window, roles, capabilities, and whether it is installed."""

        async def listed(name: str) -> set[str] | None:
            try:
                if not (await self.engine.backend(name).health()).ok:
                    return None
                return await self.manager.installed(name)
            except (OffloadError, ImportError):
                return None

        names = list(self.engine.config.backends)
        installed = dict(zip(names, await asyncio.gather(*(listed(n) for n in names)), strict=True))
        rows = []
        for m in self.engine.config.models:
            have = installed.get(m.backend)
            status = "unknown" if have is None else "installed" if _norm(m.upstream_name) in have else "not installed"
            rows.append(ModelRow.model_validate(m.model_dump(mode="json") | {"status": status}))
        return ListModelsResult(models=rows)

    async def show_model(self, name: ModelName) -> ShowModelResult:
        """One inventory model, with what its backend reports about it (context window, quantization...)."""
        spec = self.manager.spec(name)
        details: BackendDetails | None = None
        if self.engine.backend(spec.backend).capabilities.ps:
            info = await self.manager.show(spec.name)
            extra, caps = info.details, info.details.get("capabilities")
            details = BackendDetails.model_validate(
                info.model_dump(mode="json", exclude={"details"})
                | {k: extra[k] for k in ("parameter_size", "format") if isinstance(extra.get(k), str)}
                | ({"capabilities": [str(c) for c in caps]} if isinstance(caps, list) else {})
            )
        return ShowModelResult(
            model=InventoryModel.model_validate(spec.model_dump(mode="json")), backend_details=details
        )

    async def pull_model(self, name: ModelName, progress: Progress | None = None) -> PullModelResult:
        """Download an inventory model on its backend (Ollama), resuming after interruptions."""
        spec = self.manager.spec(name)
        blobs: dict[str, tuple[int, int]] = {}

        async def on_event(ev: OpsEvent) -> None:
            p = ev.progress
            if progress is not None and p is not None:
                if p.digest and p.total:
                    blobs[p.digest] = (p.completed or 0, p.total)
                total = sum(t for _, t in blobs.values()) or None
                await progress(sum(c for c, _ in blobs.values()), total, p.status)

        outcome = await self.manager.pull(spec.name, on_event)
        if outcome.status == "failed":
            err = OffloadError(outcome.detail, hint=outcome.hint)
            err.code = outcome.error_code or "pull_failed"
            raise err
        listed = _norm(spec.upstream_name) in await self.manager.installed(spec.backend)
        return PullModelResult(model=spec.name, status=outcome.status, attempts=outcome.attempts, listed=listed)

    async def ps(self) -> PsResult:
        """Models loaded in memory now, with VRAM each and when they expire."""
        rows = await self.manager.ps()
        return PsResult(
            loaded=[LoadedModelRow.model_validate(r, from_attributes=True) for r in rows],
            total_vram_gb=round(sum(r.vram_gb for r in rows), 2),
        )

    # -- work -----------------------------------------------------------------------------------------------
    async def chat(
        self,
        messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_MESSAGES)],
        model: ModelName = "auto",
        max_tokens: MaxTokens = None,
        temperature: Annotated[float | None, Field(ge=0, le=2)] = None,
    ) -> AnswerResult:
        """Answer an OpenAI-style conversation through offload's router (local first, verified, journaled)."""
        system, msgs = canonical_messages(messages)
        req = ChatRequest(model=model, system=system, messages=msgs, max_tokens=max_tokens, temperature=temperature)
        resp = await self.engine.chat(req, self.ctx)
        return AnswerResult(answer=resp.content, **await self._answered(resp))

    async def run_task(
        self,
        task: Annotated[str, Field(min_length=1, max_length=MAX_TEXT, description="What to do.")],
        context: Annotated[
            str | None, Field(max_length=MAX_TEXT, description="Code or text the task is about.")
        ] = None,
        kind: Kind | None = None,
        tests: Annotated[str | None, Field(max_length=MAX_TEXT, description="Python tests the code must pass.")] = None,
        names: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)] = [],  # noqa: B006
        model: ModelName = "auto",
        max_tokens: MaxTokens = None,
    ) -> AnswerResult:
        """Delegate a task to local models: routed, verified (examples, tests, names), journaled and metered."""
        prompt = task if not context else f"{task}\n\n```\n{context}\n```"
        req = ChatRequest.from_prompt(prompt, model=model, max_tokens=max_tokens)
        t = Task(request=req, kind=kind, verify=VerifySpec(tests=tests, names=list(names)), source_text=task)
        resp = await self.engine.run(t, self.ctx)
        return AnswerResult(answer=resp.content, **await self._answered(resp))

    async def review_code(
        self,
        code: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)],
        language: Annotated[str | None, Field(max_length=40)] = None,
        focus: ShortText | None = None,
        model: ModelName = "auto",
    ) -> ReviewResult:
        """Review code for bugs, security problems and unclear parts; a local first pass before a cloud review."""
        lang = language or "the"
        ask = (f"Review {lang} code below. List each concrete problem (bug, security, edge case, unclear code) "
               "with the line it is on and a suggested fix. Say 'no issues found' when there are none.")  # fmt: skip
        if focus:
            ask += f" Focus on: {focus}."
        req = ChatRequest.from_prompt(f"{ask}\n\n```{language or ''}\n{code}\n```", model=model)
        resp = await self.engine.run(Task(request=req, kind="review"), self.ctx)
        return ReviewResult(review=resp.content, **await self._answered(resp))

    async def generate_fixtures(
        self,
        json_schema: Annotated[dict[str, Any], Field(description="JSON schema every record must satisfy.")],
        count: Annotated[int, Field(ge=1, le=MAX_RECORDS)] = 5,
        instructions: ShortText = "",
        model: ModelName = "auto",
    ) -> FixturesResult:
        """Generate test records valid against a JSON schema (checked; invalid output is retried or escalated)."""
        if len(json.dumps(json_schema)) > MAX_SCHEMA_CHARS:
            raise InvalidRequest(
                f"json_schema is larger than {MAX_SCHEMA_CHARS} characters", hint="send a smaller schema"
            )
        try:
            jsonschema.validators.validator_for(json_schema).check_schema(json_schema)
        except jsonschema.SchemaError as exc:
            raise InvalidRequest(
                f"json_schema is not a valid JSON schema: {exc.message}",
                hint="fix the schema (see https://json-schema.org)",
            ) from None
        array = {"type": "array", "items": json_schema, "minItems": count, "maxItems": count}
        prompt = (f"Generate {count} realistic, varied test records as a JSON array. Each record must be valid "
                  f"against this JSON schema:\n{json.dumps(json_schema)}\n{instructions}\nReply with the JSON array "
                  "only.")  # fmt: skip
        fmt = ResponseFormat(type="json_schema", json_schema=array, name="records")
        req = ChatRequest.from_prompt(prompt, model=model, response_format=fmt)
        t = Task(request=req, kind="fixtures", verify=VerifySpec(json_schema=array, json_only=True))
        resp = await self.engine.run(t, self.ctx)
        records = _json_array(resp.content)
        try:
            jsonschema.validate(records, array)
        except jsonschema.ValidationError as exc:
            raise VerificationFailed(
                f"the records do not match the schema: {exc.message}", hint="retry, or name a stronger model"
            ) from None
        return FixturesResult(records=records, count=len(records), **await self._answered(resp))

    # -- reports ---------------------------------------------------------------------------------------------
    async def savings_report(
        self, period: Period = "all", by: Literal["day", "model", "kind"] | None = None
    ) -> SavingsReportResult:
        """What local models saved: requests, local acceptance rate, tokens, cloud spend and avoided cost (USD)."""
        since = period_start(period)
        out: dict[str, Any] = {"period": period, "totals": _totals(await self.engine.ledger.asummary(since=since))}
        if by is not None:
            out["by_" + by] = [_totals(t) for t in await self.engine.ledger.abreakdown(by, since)]
        return SavingsReportResult.model_validate(out)

    async def explain_route(
        self,
        prompt: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)],
        kind: Kind | None = None,
        model: ModelName = "auto",
    ) -> RouteExplanation:
        """Where a prompt would go and why (task profile, rule, ordered candidates, skipped models); runs nothing."""
        req = ChatRequest.from_prompt(prompt, model=model)
        ctx = RequestContext(source="mcp", client="mcp", hints={"kind": kind} if kind else {})
        return RouteExplanation.of(self.engine.resolve(req, ctx))


def _json_array(text: str) -> Any:
    """The JSON in an answer (tolerating a fenced block or prose around the array)."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    for candidate in (text, fenced.group(1) if fenced else None, text[text.find("[") : text.rfind("]") + 1]):
        if candidate:
            try:
                return json.loads(candidate)
            except json.JSONDecodeError:
                continue
    raise VerificationFailed("the answer holds no JSON array", hint="retry, or name a stronger model")


def _totals(totals: LedgerTotals) -> SavingsTotals:
    return SavingsTotals.model_validate(totals, from_attributes=True)


def _norm(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
