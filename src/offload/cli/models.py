"""``offload models``: the inventory with reachability."""

from __future__ import annotations

import typer
from rich.table import Table

from offload.cli.common import console, print_json, state
from offload.errors import OffloadError


def register(app: typer.Typer) -> None:
    app.command("models")(models)


def models(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the model inventory: backend, VRAM, context, roles, capabilities, price, reachability."""
    o = state(ctx).offload()
    engine = o.engine

    async def gather() -> tuple[dict[str, object], dict[str, set[str] | None]]:
        health = {h.backend: h for h in await engine.health()}
        listed: dict[str, set[str] | None] = {}
        for name, h in health.items():
            if not h.ok:
                listed[name] = None
                continue
            try:
                listed[name] = {m.name for m in await engine.backend(name).list_models()}
            except OffloadError:
                listed[name] = None
        return health, listed

    health, listed = o.call(gather())
    rows = []
    for m in o.config.models:
        h = health.get(m.backend)
        names = listed.get(m.backend)
        if h is None or not getattr(h, "ok", False):
            reach = "backend down"
        elif names is None or m.upstream_name in names or m.backend == "embedded" or not names:
            reach = "ok"
        else:
            reach = "not pulled"
        rows.append(
            {
                "name": m.name,
                "backend": m.backend,
                "vram_gb": m.vram_gb,
                "context": m.context_window,
                "roles": list(m.roles),
                "capabilities": list(m.capabilities),
                "price_in": m.price_in,
                "price_out": m.price_out,
                "required": m.required,
                "status": reach,
                "hint": getattr(h, "hint", None) if reach == "backend down" else None,
            }
        )
    if as_json:
        print_json(rows)
        return
    t = Table(
        "model", "backend", "VRAM GB", "context", "roles", "capabilities", "$/M in·out", "status", title="inventory"
    )
    for r in rows:
        style = {"ok": "green", "backend down": "red", "not pulled": "yellow"}[str(r["status"])]
        t.add_row(
            str(r["name"]),
            str(r["backend"]),
            f"{r['vram_gb']:.1f}",
            str(r["context"]),
            ",".join(r["roles"]),  # type: ignore[arg-type]
            ",".join(r["capabilities"]),
            f"{r['price_in']}·{r['price_out']}",
            f"[{style}]{r['status']}[/]",  # type: ignore[arg-type]
        )
    console.print(t)
    for r in rows:
        if r["hint"]:
            console.print(f"[yellow]hint[/] {r['backend']}: {r['hint']}", highlight=False)
