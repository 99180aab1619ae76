"""Config: lookup order, validation errors that name file + key + fix, masked output, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from offload.config import EMBEDDED_MODEL, find_config_path, load_config, parse_config
from offload.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "offload.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_no_file_means_embedded_only() -> None:
    cfg = load_config()
    assert cfg.source is None
    assert [m.name for m in cfg.models] == [EMBEDDED_MODEL]
    assert cfg.backends["embedded"].kind == "embedded"


def test_lookup_order_flag_then_env_then_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = write(tmp_path, "[defaults]\nmax_tokens = 11\n", "flag.toml")
    env = write(tmp_path, "[defaults]\nmax_tokens = 22\n", "env.toml")
    user_dir = tmp_path / "xdg" / "offload"
    user_dir.mkdir(parents=True)
    (user_dir / "offload.toml").write_text("[defaults]\nmax_tokens = 33\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load_config().defaults.max_tokens == 33
    monkeypatch.setenv("OFFLOAD_CONFIG", str(env))
    assert load_config().defaults.max_tokens == 22
    assert load_config(flag).defaults.max_tokens == 11


def test_missing_explicit_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        find_config_path(tmp_path / "nope.toml")
    assert "nope.toml" in str(ei.value) and ei.value.hint


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("[backends.x]\nkind = 'ollamma'\nbase_url='http://h'\n", "backends.x.kind", "allowed values"),
        ("[backends.x]\nkind = 'ollama'\n", "backends.x", "base_url"),
        ("[defaults]\nmax_tokenz = 3\n", "defaults.max_tokenz", "unknown key"),
        ("[[models]]\nname='m'\nbackend='nowhere'\n", None, "nowhere"),
        (
            "[backends.x]\nkind='anthropic'\nbase_url='https://a'\napi_key='sk-live-123456789'\n",
            "backends.x.api_key",
            "api_key_env",
        ),
        ("[defaults\n", None, "TOML"),
    ],
)
def test_invalid_config_names_file_key_and_fix(tmp_path: Path, toml: str, key: str | None, words: str) -> None:
    p = write(tmp_path, toml)
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    text = str(ei.value)
    assert str(p) in text
    if key:
        assert f"[{key}]" in text
    assert words in text
    assert ei.value.hint
    assert "sk-live-123456789" not in text


def test_masked_never_shows_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-CANARY-abcdef123456")
    cfg = parse_config(
        {"backends": {"cloud": {"kind": "anthropic", "base_url": "https://api.anthropic.com", "api_key_env": "MY_KEY"}}}
    )
    masked = cfg.masked()
    assert masked["backends"]["cloud"]["api_key"] == "***set***"
    assert "sk-CANARY" not in repr(masked)
    assert cfg.backends["cloud"].is_cloud
    assert "sk-CANARY-abcdef123456" in cfg.secrets()


def test_embedded_can_be_disabled_and_models_link_to_backends() -> None:
    cfg = parse_config(
        {
            "defaults": {"embedded": False},
            "backends": {"o": {"kind": "ollama", "base_url": "http://127.0.0.1:11434"}},
            "models": [{"name": "qwen", "backend": "o", "vram_gb": 9, "roles": ["code"]}],
        }
    )
    assert list(cfg.backends) == ["o"]
    assert cfg.model("qwen") is not None and cfg.model(EMBEDDED_MODEL) is None


def test_duplicate_model_names_rejected() -> None:
    with pytest.raises(ConfigError, match="twice"):
        parse_config({"models": [{"name": "a", "backend": "embedded"}, {"name": "a", "backend": "embedded"}]})
