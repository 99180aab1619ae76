"""Write a bench report: leaderboard (Markdown and JSON), three PNG plots, and one self-contained HTML page
with the plots embedded (base64), the failure modes, an optional paired comparison and the per-task grid."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from offload import __version__
from offload.bench.leaderboard import Comparison, ProfileSummary, compare, max_iterations, summarize
from offload.bench.plots import plot_cost_vs_pass, plot_failure_modes, plot_pass_by_iteration
from offload.bench.results import OUTCOMES, TERMINAL_REASONS, CaseResult, latest_rows

__all__ = ["ReportFiles", "leaderboard_markdown", "write_report"]


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote."""

    out_dir: Path
    summaries: list[ProfileSummary]
    comparison: Comparison | None = None
    files: dict[str, Path] = field(default_factory=dict)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(ci: tuple[float, float]) -> str:
    return f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "—" if x is None else fmt.format(x)


def leaderboard_rows(summaries: list[ProfileSummary]) -> tuple[list[str], list[list[str]]]:
    """Leaderboard header and cells (shared by Markdown, HTML and the console)."""
    k = max((len(s.pass_at) for s in summaries), default=1)
    head = ["suite", "profile", "models", "context", "cases", "pass", "95% CI"]
    head += [f"@{i}" for i in range(1, k + 1)]
    head += ["well-formed", "s/case", "tok/s", "tokens/solved", "$/solved (cloud-eq.)", "spend $"]
    body = []
    for s in summaries:
        at = [_pct(s.pass_at[i]) if i < len(s.pass_at) else "" for i in range(k)]
        body.append(
            [s.suite, s.profile, s.models, str(s.context or "?"), str(s.cases), f"{s.solved} ({_pct(s.pass_rate)})",
             _ci(s.pass_ci), *at, _pct(s.well_formed), f"{s.seconds_per_case:.1f}", _num(s.tokens_per_s),
             _num(s.tokens_per_solved, "{:.0f}"), _num(s.cost_per_solved, "{:.4f}"), f"{s.cost_usd:.4f}"]
        )  # fmt: skip
    return head, body


def leaderboard_markdown(summaries: list[ProfileSummary]) -> str:
    """The leaderboard as a Markdown table."""
    head, body = leaderboard_rows(summaries)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _table(head: list[str], body: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _comparison_html(c: Comparison) -> str:
    t = c.test
    head = ["", f"{c.b} passed", f"{c.b} failed"]
    body = [[f"{c.a} passed", str(t.both), str(t.only_a)], [f"{c.a} failed", str(t.only_b), str(t.neither)]]
    verdict = "significant at 5%" if t.p_exact < 0.05 else "not significant at 5%"
    lists = "".join(
        f"<p><b>only {html.escape(name)}</b>: {html.escape(', '.join(tasks) or '—')}</p>"
        for name, tasks in ((c.a, c.only_a), (c.b, c.only_b))
    )
    return (
        f"<h2>{html.escape(c.a)} vs {html.escape(c.b)} (paired, {t.n} tasks)</h2>{_table(head, body)}"
        f"<p>McNemar exact p = {t.p_exact:.4g}; χ² with continuity correction = {t.chi2:.3f}, p = {t.p_chi2:.4g} "
        f"— {verdict}.{f' {c.missing} task(s) ran under only one of the two.' if c.missing else ''}</p>{lists}"
    )


def _grid(rows: list[CaseResult]) -> str:
    profiles = sorted({r.profile for r in rows})
    cell = {(r.suite, r.task_id, r.profile): r for r in rows}
    tasks = sorted({(r.suite, r.task_id) for r in rows}, key=lambda t: (t[0], _natural(t[1])))
    body = []
    for suite, task in tasks:
        line = [f"{suite}/{task}"]
        for p in profiles:
            r = cell.get((suite, task, p))
            line.append("" if r is None else (f"✓ {r.first_pass_iteration}" if r.passed else r.terminal_reason))
        body.append(line)
    return _table(["task", *profiles], body)


def _natural(task_id: str) -> tuple[str, int]:
    head, _, tail = task_id.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (task_id, -1)


_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#f3f3f3}img{max-width:100%}figure{margin:1em 0}figcaption{color:#666;font-size:12px}
.meta{color:#555}details{margin:1em 0}"""


def write_report(
    rows: list[CaseResult], out_dir: Path, *, compare_profiles: tuple[str, str] | None = None, plots: bool = True
) -> ReportFiles:
    """Write ``leaderboard.md``, ``leaderboard.json``, the PNGs and ``report.html`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    latest = latest_rows(rows)
    k = max_iterations(latest)
    summaries = summarize(latest, k)
    rep = ReportFiles(out_dir, summaries)
    if compare_profiles:
        rep.comparison = compare(latest, *compare_profiles)
    md = leaderboard_markdown(summaries)
    rep.files["leaderboard.md"] = out_dir / "leaderboard.md"
    rep.files["leaderboard.md"].write_text(md, encoding="utf-8")
    rep.files["leaderboard.json"] = out_dir / "leaderboard.json"
    payload: dict[str, object] = {"k": k, "profiles": [s.to_dict() for s in summaries]}
    if rep.comparison is not None:
        c = rep.comparison
        payload["comparison"] = {"a": c.a, "b": c.b, **c.test.__dict__, "only_a": c.only_a, "only_b": c.only_b}
    rep.files["leaderboard.json"].write_text(json.dumps(payload, indent=2, default=list) + "\n", encoding="utf-8")
    figures = []
    if plots:
        for name, fn, alt in (
            ("pass_by_iteration.png", plot_pass_by_iteration, "Pass rate by iteration"),
            ("failure_modes.png", plot_failure_modes, "Failure modes"),
            ("cost_vs_pass.png", plot_cost_vs_pass, "Cost vs pass rate"),
        ):
            rep.files[name] = fn(summaries, out_dir / name)
            figures.append(_img(rep.files[name], alt))
    head, body = leaderboard_rows(summaries)
    modes = [[s.profile] + [str(s.terminal.get(r, 0)) for r in TERMINAL_REASONS] for s in summaries]
    outcomes = [[s.profile] + [str(s.outcomes.get(o, 0)) for o in OUTCOMES] for s in summaries]
    versions = sorted({r.offload_version for r in latest if r.offload_version}) or [__version__]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>offload bench report</title>"
        f"<style>{_CSS}</style></head><body><h1>offload bench report</h1>"
        f"<p class='meta'>{len(latest)} cases · suites: {html.escape(', '.join(sorted({r.suite for r in latest})))}"
        f" · offload {html.escape(', '.join(versions))} · generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>"
        f"<h2>Leaderboard</h2>{_table(head, body)}"
        "<p class='meta'>pass: solved within the budget; @i: solved within i iterations; 95% CI: Wilson interval; "
        "well-formed: answers that held at least one file in the asked format; $/solved: cloud-equivalent cost of all tokens "
        "divided by tasks solved.</p>"
        + "".join(figures)
        + f"<h2>Failure modes</h2>{_table(['profile', *TERMINAL_REASONS], modes)}"
        + "<p class='meta'>Cases, by terminal reason (above), and iterations, by outcome (below).</p>"
        + _table(["profile", *OUTCOMES], outcomes)
        + (_comparison_html(rep.comparison) if rep.comparison else "")
        + f"<details><summary>Per task</summary>{_grid(latest)}</details></body></html>"
    )
    rep.files["report.html"] = out_dir / "report.html"
    rep.files["report.html"].write_text(page, encoding="utf-8")
    return rep
