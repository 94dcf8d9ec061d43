"""Configuration errors read like policy errors: ``file:line:column: key: message (did you
mean …)``, the environment variable or option by name, a missing secret in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from guardrail.cli import app
from guardrail.config import ConfigError, load_settings

CONFIG = """\
port: 8080
bots:
  maestro:
    tenant: t1
    upstrem:
      type: webhook
retension:
  interval: 1h
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "guardrail.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return [str(p) for p in info.value.problems]


def test_a_misspelt_key_names_file_line_and_the_key_meant(tmp_path: Path) -> None:
    found = problems(tmp_path, CONFIG)
    path = tmp_path / "guardrail.yaml"
    assert f"{path}:5:5: bots.maestro.upstrem: unknown key 'upstrem' (did you mean upstream?)" in (
        found
    )
    assert f"{path}:7:1: retension: unknown key 'retension' (did you mean retention?)" in found


def test_a_bad_value_is_placed_on_its_line(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "port: 80\nmax_text_chars: -4\n")
    assert found.startswith(f"{tmp_path / 'guardrail.yaml'}:2:1: max_text_chars: ")


def test_invalid_yaml_and_a_list_are_placed_too(tmp_path: Path) -> None:
    (broken,) = problems(tmp_path, "port: [8080\n")
    assert broken.startswith(f"{tmp_path / 'guardrail.yaml'}:2:1: invalid YAML")
    (listed,) = problems(tmp_path, "- a\n- b\n")
    assert listed.endswith("the config file must be a mapping")


def test_environment_and_options_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_PORT", "not-a-port")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert str(info.value).startswith("GUARDRAIL_PORT: ")
    monkeypatch.delenv("GUARDRAIL_PORT")
    with pytest.raises(ConfigError) as info:
        load_settings(None, port="x")
    assert str(info.value).startswith("--port: ")


def test_serve_refuses_a_missing_secret_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GR_TEST_MISSING_TOKEN", raising=False)
    path = tmp_path / "guardrail.yaml"
    path.write_text(
        "bots:\n  maestro:\n    upstream: {type: whatsapp, "
        'url: "https://graph.facebook.com/v21.0/1/messages", token_env: GR_TEST_MISSING_TOKEN}\n'
    )
    result = CliRunner().invoke(app, ["serve", "--config", str(path), "--port", "1"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "bots.maestro.upstream.token_env: environment variable GR_TEST_MISSING_TOKEN is not set"
    )


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("guardrail ")
