"""The report's three PNG plots, drawn with matplotlib's Agg backend (no display needed).

* ``pass_by_iteration.png`` — pass rate after 1..k iterations per profile, with Wilson 95% bands;
* ``failure_modes.png``     — how the cases of each profile ended (terminal reasons, stacked shares);
* ``cost_vs_pass.png``      — pass rate against the cloud-equivalent cost per task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from offload.bench.leaderboard import ProfileSummary
from offload.bench.results import OUTCOMES, TERMINAL_REASONS
from offload.errors import ConfigError

__all__ = ["plot_cost_vs_pass", "plot_failure_modes", "plot_pass_by_iteration", "pyplot"]

_COLOURS = {
    "passed": "#2e7d32",
    "failed": "#f9a825",
    "syntax_error": "#ef6c00",
    "test_timeout": "#6d4c41",
    "max_iterations": "#f9a825",
    "max_failures": "#ef6c00",
    "malformed": "#8e24aa",
    "stage_timeout": "#1565c0",
    "wall_time": "#5c6bc0",
    "error": "#c62828",
}


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (raises a ConfigError with the fix when it is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError(
            "the bench report draws its plots with matplotlib, which is not installed",
            hint="install it with 'pip install matplotlib' (or pass --no-plots)",
        ) from exc
    return plt


def _label(s: ProfileSummary, many_suites: bool) -> str:
    return f"{s.suite}: {s.profile}" if many_suites else s.profile


def plot_pass_by_iteration(summaries: list[ProfileSummary], path: Path) -> Path:
    """Pass rate after each iteration, one line per profile, shaded Wilson 95% intervals."""
    plt = pyplot()
    many = len({s.suite for s in summaries}) > 1
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for s in summaries:
        xs = list(range(1, len(s.pass_at) + 1))
        ys = [100 * p for p in s.pass_at]
        (line,) = ax.plot(xs, ys, marker="o", label=_label(s, many))
        ax.fill_between(
            xs, [100 * lo for lo, _ in s.pass_at_ci], [100 * hi for _, hi in s.pass_at_ci], alpha=0.15,
            color=line.get_color(),
        )  # fmt: skip
    k = max((len(s.pass_at) for s in summaries), default=1)
    ax.set_xticks(list(range(1, k + 1)))
    ax.set_xlabel("iterations allowed")
    ax.set_ylabel("tasks solved (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Pass rate by iteration (shaded: Wilson 95% interval)")
    ax.grid(alpha=0.3)
    if summaries:
        ax.legend(fontsize=8, loc="best")
    return _save(plt, fig, path)


def _stacked(ax: Any, labels: list[str], parts: list[dict[str, int]], order: tuple[str, ...], title: str) -> None:
    left = [0.0] * len(labels)
    for key in order:
        shares = [100 * p.get(key, 0) / total if (total := sum(p.values())) else 0.0 for p in parts]
        if not any(shares):
            continue
        ax.barh(labels, shares, left=left, color=_COLOURS.get(key), label=key)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def plot_failure_modes(summaries: list[ProfileSummary], path: Path) -> Path:
    """Failure modes per profile: how cases ended (terminal reasons) and how iterations ended (outcomes)."""
    plt = pyplot()
    many = len({s.suite for s in summaries}) > 1
    labels = [_label(s, many) for s in summaries]
    height = 0.45 * max(1, len(summaries))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 2.4 + 2 * height), dpi=110)
    _stacked(top, labels, [s.terminal for s in summaries], TERMINAL_REASONS, "How cases ended (terminal reason)")
    _stacked(bottom, labels, [s.outcomes for s in summaries], OUTCOMES, "How iterations ended")
    bottom.set_xlabel("share (%)")
    return _save(plt, fig, path)


def plot_cost_vs_pass(summaries: list[ProfileSummary], path: Path) -> Path:
    """Pass rate (with Wilson interval) against cloud-equivalent USD per task; local and cloud marked apart."""
    plt = pyplot()
    many = len({s.suite for s in summaries}) > 1
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for s in summaries:
        y = 100 * s.pass_rate
        err = [[y - 100 * s.pass_ci[0]], [100 * s.pass_ci[1] - y]]
        ax.errorbar(
            [s.cost_per_case], [y], yerr=err, fmt="s" if s.cloud else "o", capsize=3, label=_label(s, many),
        )  # fmt: skip
        ax.annotate(_label(s, many), (s.cost_per_case, y), textcoords="offset points", xytext=(5, 5), fontsize=7)
    costs = [s.cost_per_case for s in summaries if s.cost_per_case > 0]
    if costs and max(costs) / min(costs) > 50:
        ax.set_xscale("log")
    else:
        ax.set_xlim(left=0, right=max(costs, default=0.0) * 1.25 or 1.0)
    ax.set_xlabel("cloud-equivalent cost per task (USD; squares: cloud profiles)")
    ax.set_ylabel("tasks solved (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Cost vs pass rate")
    ax.grid(alpha=0.3)
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png", bbox_inches="tight")
    plt.close(fig)
    return path
