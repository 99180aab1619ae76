"""``offload serve``: run the gateway (OpenAI, Anthropic and Ollama APIs) on one port.

Prints, at start-up, the exact environment variables that point Claude Code, OpenAI-style clients and Ollama
clients at the gateway, then runs uvicorn until interrupted.
"""

from __future__ import annotations

from offload.config import load_config
from offload.server.security import WILDCARDS, check_bind


def client_env(host: str, port: int, *, api_key_env: str | None, key_set: bool) -> list[tuple[str, dict[str, str]]]:
    """(client, {VAR: value}) for each kind of client; the key is referenced by variable, never printed."""
    shown = "127.0.0.1" if host in WILDCARDS else (f"[{host}]" if ":" in host else host)
    base = f"http://{shown}:{port}"
    token = f"${api_key_env}" if key_set and api_key_env else "offload"
    return [
        ("Claude Code", {"ANTHROPIC_BASE_URL": base, "ANTHROPIC_AUTH_TOKEN": token}),
        ("OpenAI clients", {"OPENAI_BASE_URL": f"{base}/v1", "OPENAI_API_KEY": token}),
        ("Ollama clients", {"OLLAMA_HOST": base}),
    ]


def startup_lines(host: str, port: int, *, api_key_env: str | None, key_set: bool) -> list[str]:
    """The lines ``offload serve`` prints before it starts listening."""
    lines = [f"offload gateway on http://{host}:{port}  (OpenAI /v1, Anthropic /v1/messages, Ollama /api)"]
    for client, env in client_env(host, port, api_key_env=api_key_env, key_set=key_set):
        exports = " ".join(f'{k}="{v}"' for k, v in env.items())
        lines.append(f"  {client + ':':<16} export {exports}")
    if not key_set:
        lines.append("  (no API key configured: only this machine can connect)")
    return lines


def serve(host: str | None, port: int | None, config: str | None) -> None:
    """Load the config, refuse an unsafe bind, print the client settings and run the gateway."""
    import uvicorn

    from offload.engine import Engine
    from offload.server.app import create_app

    cfg = load_config(config)
    settings = cfg.server
    host = host or settings.host
    port = port or settings.port
    check_bind(host, settings)
    engine = Engine(cfg, await_outcome=False)
    app = create_app(engine, settings, bound_host=host, owns_engine=True)
    for line in startup_lines(host, port, api_key_env=settings.api_key_env, key_set=bool(settings.api_key())):
        print(line, flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
