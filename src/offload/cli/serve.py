"""``offload serve``: run the gateway (OpenAI, Anthropic and Ollama APIs) on one port.

Prints, at start-up, the exact environment variables that point Claude Code, OpenAI-style clients and Ollama
clients at the gateway, the Codex CLI provider block, the ``llm`` model entry and the aider command line, then
runs uvicorn until interrupted.
"""

from __future__ import annotations

from typing import Any

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


def codex_config(base_url: str, model: str = "auto") -> str:
    """The ``~/.codex/config.toml`` lines that send Codex CLI to the gateway (key from ``OPENAI_API_KEY``)."""
    return (
        f'model = "{model}"\nmodel_provider = "offload"\n\n[model_providers.offload]\nname = "offload"\n'
        f'base_url = "{base_url}"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n'
    )


def llm_config(base_url: str, model: str = "auto", *, key_set: bool = False) -> str:
    """An ``extra-openai-models.yaml`` entry for ``llm`` (``llm -m offload``); with a gateway key, the key is
    stored with ``llm keys set offload``."""
    key = "  api_key_name: offload\n" if key_set else ""
    return (
        f'- model_id: offload\n  model_name: {model}\n  api_base: "{base_url}"\n{key}'
        "  supports_tools: true\n  supports_schema: true\n"
    )


def aider_command(base_url: str, token: str, model: str = "auto") -> str:
    """The aider command line (aider only speaks Chat Completions; unknown-model warnings are expected)."""
    return (
        f'aider --model openai/{model} --openai-api-base "{base_url}" --openai-api-key "{token}" '
        "--no-show-model-warnings"
    )


def startup_lines(host: str, port: int, *, api_key_env: str | None, key_set: bool) -> list[str]:
    """The lines ``offload serve`` prints before it starts listening."""
    lines = [
        f"offload gateway on http://{host}:{port}  (OpenAI /v1 + /v1/responses, Anthropic /v1/messages, Ollama /api)"
    ]
    envs = client_env(host, port, api_key_env=api_key_env, key_set=key_set)
    for client, env in envs:
        exports = " ".join(f'{k}="{v}"' for k, v in env.items())
        lines.append(f"  {client + ':':<16} export {exports}")
    openai_env = dict(envs)["OpenAI clients"]
    base, token = openai_env["OPENAI_BASE_URL"], openai_env["OPENAI_API_KEY"]
    lines.append(f"  {'aider:':<16} {aider_command(base, token)}")
    lines.append(f"  {'Codex CLI:':<16} with OPENAI_API_KEY as above, put in ~/.codex/config.toml:")
    lines.extend("      " + line if line else "" for line in codex_config(base).splitlines())
    store = "; then: llm keys set offload" if key_set else ""
    lines.append(f'  {"llm:":<16} add to "$(dirname "$(llm logs path)")/extra-openai-models.yaml"{store}:')
    lines.extend("      " + line for line in llm_config(base, key_set=key_set).splitlines())
    shown = "127.0.0.1" if host in WILDCARDS else (f"[{host}]" if ":" in host else host)
    lines.append(f"  {'Dashboard:':<16} http://{shown}:{port}/ui/")
    if not key_set:
        lines.append("  (no API key configured: only this machine can connect)")
    return lines


def serve(host: str | None, port: int | None, config: str | None) -> None:
    """Load the config, refuse an unsafe bind, print the client settings and run the gateway."""
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
    run_gateway(app, host, port)


def run_gateway(app: Any, host: str, port: int) -> None:
    """Run the gateway app on uvicorn the way ``offload serve`` does (the benchmark uses this too).

    No access log (the journal is the record), no ``Server`` header, and no proxy-header rewriting: offload
    never takes the client's address or scheme from ``X-Forwarded-*`` headers.
    """
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
        proxy_headers=False,
    )
