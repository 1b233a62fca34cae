"""`b24app onec check` reads the connections of app.yaml and names what the admin must publish."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from service.cli import cli
from b24app.config import generate_token_key


@pytest.fixture
def configured(tmp_path: Path, zup: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump({"app": {"public_url": "https://b24.example.ru"}, "onec": {"connections": [
        {"name": "zup", "mode": "odata", "url": zup.odata_url, "login": zup.login,
         "password_env": "ONEC_ZUP_PASSWORD"}]}}, allow_unicode=True), encoding="utf-8")
    for key, value in {"B24APP_CONFIG": str(path), "ONEC_ZUP_PASSWORD": zup.password, "B24_CLIENT_ID": "local.x.1",
                       "B24_CLIENT_SECRET": "s", "SECRET_KEY": "k", "B24APP_TOKEN_KEY": generate_token_key()}.items():
        monkeypatch.setenv(key, value)
    return path


def test_check_uses_app_yaml_and_lists_sets_to_publish(configured: Path, hooks: Any) -> None:
    result = CliRunner().invoke(cli, ["onec", "check"])
    assert result.exit_code == 0, result.output
    assert "OK  Catalog_Сотрудники" in result.output
    hooks("POST", "unpublish", {"sets": ["Catalog_Должности"]})
    result = CliRunner().invoke(cli, ["onec", "check", "--connection", "zup"])
    assert result.exit_code == 1
    assert "опубликовать" in result.output and "  - Catalog_Должности" in result.output


def test_unknown_connection_name_is_a_clear_error(configured: Path) -> None:
    result = CliRunner().invoke(cli, ["onec", "check", "--connection", "hr2"])
    assert result.exit_code != 0
    assert "hr2" in result.output
