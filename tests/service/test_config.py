"""app.yaml + environment validation and `b24app config check`."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from b24app.config import ConfigError, generate_token_key
from service import load_config
from service.cli import cli

GOOD_ENV = {"B24_CLIENT_ID": "local.abc.1", "B24_CLIENT_SECRET": "s", "SECRET_KEY": "k"}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_valid_config_loads_typed_values(tmp_path: Path) -> None:
    path = _write(tmp_path, {"app": {"public_url": "https://b24.example.ru/", "version": 3},
                             "onec": {"connections": [{"name": "main", "mode": "soap",
                                                       "url": "https://1c.example.ru/zup/ws/b24sync.1cws?wsdl",
                                                       "login": "Обмен", "password_env": "ONEC_MAIN_PASSWORD"}]},
                             "sync": {"max_deactivate_percent": 5}})
    config = load_config(path, env={**GOOD_ENV, "B24APP_TOKEN_KEY": generate_token_key(),
                                    "ONEC_MAIN_PASSWORD": "пароль"})
    assert config.public_url == "https://b24.example.ru"
    assert config.app_version == 3
    connection = config.settings("onec").connection()
    assert connection.mode == "soap" and connection.password() == "пароль"
    assert config.settings("sync").max_deactivate_percent == 5


def test_every_problem_names_file_key_and_expectation(tmp_path: Path) -> None:
    path = _write(tmp_path, {"mode": "both", "app": {"public_url": "ftp://x", "version": 0},
                             "onec": {"connections": [{"name": "main", "mode": "rest", "url": "x",
                                                       "login": "u", "password_env": "ONEC_PWD"}]}})
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"B24APP_TOKEN_KEY": "not-a-key"})
    text = str(info.value)
    for expected in ("mode: app или webhook", "app.public_url: адрес http(s)",
                     "app.version: целое число больше нуля", "onec.connections[0].mode: odata или soap",
                     "onec.connections[0].url: адрес http(s)", "ONEC_PWD", "B24APP_TOKEN_KEY: 32 байта",
                     "SECRET_KEY"):
        assert expected in text
    assert all(p.file in (str(path), ".env (окружение)") for p in info.value.problems)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.yaml", env={})
    assert "скопируйте app.example.yaml" in str(info.value)


def test_webhook_mode_needs_the_webhook_url_and_lists_app_only_features(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path, {"mode": "webhook", "app": {"public_url": "https://b24.example.ru"}})
    for key in ("B24_CLIENT_ID", "B24_CLIENT_SECRET", "B24_WEBHOOK_URL", "DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("B24APP_TOKEN_KEY", generate_token_key())
    monkeypatch.setenv("SECRET_KEY", "k")
    result = CliRunner().invoke(cli, ["config", "check", "--file", str(path)])
    assert result.exit_code == 2
    assert "B24_WEBHOOK_URL" in result.output
    monkeypatch.setenv("B24_WEBHOOK_URL", "https://portal.example.ru/rest/1/abc/")
    result = CliRunner().invoke(cli, ["config", "check", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "bizproc.workflow.template" in result.output


def test_the_app_refuses_to_start_on_invalid_config(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path, {"app": {"public_url": "nope"}})
    monkeypatch.setenv("B24APP_CONFIG", str(path))
    result = CliRunner().invoke(cli, ["portals", "list"])
    assert result.exit_code == 2
    assert "app.public_url" in result.output


def test_portal_plan_and_time_scale_are_validated(tmp_path: Path) -> None:
    path = _write(tmp_path, {"app": {"public_url": "https://b24.example.ru"},
                             "bitrix24": {"plan": "free", "time_scale": 0}})
    with pytest.raises(ConfigError) as info:
        load_config(path, env={**GOOD_ENV, "B24APP_TOKEN_KEY": generate_token_key()})
    assert "bitrix24.plan: standard или enterprise" in str(info.value)
    assert "bitrix24.time_scale: положительное число" in str(info.value)
    path = _write(tmp_path, {"app": {"public_url": "https://b24.example.ru"},
                             "bitrix24": {"plan": "enterprise", "time_scale": 50}})
    config = load_config(path, env={**GOOD_ENV, "B24APP_TOKEN_KEY": generate_token_key()})
    from b24app.portal import plan_limits

    limits = plan_limits(config)
    assert limits.requests_per_s == 250 and limits.burst == 250 and limits.operating_budget_s == 480 / 50


def test_package_sections_are_checked_with_the_rest(tmp_path: Path) -> None:
    path = _write(tmp_path, {"app": {"public_url": "https://b24.example.ru"},
                             "sync": {"owner_id": "вася", "grace_days": 7},
                             "bizproc": {"retry_attempts": 0}})
    with pytest.raises(ConfigError) as info:
        load_config(path, env={**GOOD_ENV, "B24APP_TOKEN_KEY": generate_token_key()})
    keys = {problem.key for problem in info.value.problems}
    assert {"sync.owner_id", "bizproc.retry_attempts"} <= keys
    assert all(problem.file == str(path) for problem in info.value.problems)


def test_config_check_lists_the_enabled_features(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path, {"app": {"public_url": "https://b24.example.ru"},
                             "features": {"bizproc_templates": False, "cabinet": False,
                                                          "timesheets": False}})  # they need it
    for key, value in {**GOOD_ENV, "B24APP_TOKEN_KEY": generate_token_key()}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["config", "check", "--file", str(path)])
    assert result.exit_code == 0, result.output
    enabled = result.output.split("Включены:")[1].split("Выключены")[0]
    assert "sync_jobs: Синхронизация 1С:ЗУП → Битрикс24" in enabled and "bizproc_templates" not in enabled
    assert "Выключены (features: в app.yaml): bizproc_templates, cabinet, timesheets" in result.output
