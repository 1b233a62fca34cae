"""A new feature plugs in by its own files plus one line in the list of features, and can be switched off."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask

from b24app import inbox
from b24app.app import build_app
from b24app.config import ConfigError, generate_token_key, load_config
from b24app.db import get_db
from b24app.features import get_features
from b24app.scheduling import build_scheduler
from b24app.worker import get_executor
from service import FEATURES
from tests.service.example_feature import FEATURE as EXAMPLE

WITH_EXAMPLE = (*FEATURES, EXAMPLE)  # the one line an assembly adds for a new feature


def _app(tmp_path: Path, database_url: str, **sections: object) -> Flask:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump({"app": {"public_url": "https://b24.example.ru"}, **sections},
                                   allow_unicode=True), encoding="utf-8")
    env = {"B24_CLIENT_ID": "local.x.1", "B24_CLIENT_SECRET": "s", "SECRET_KEY": "k",
           "B24APP_TOKEN_KEY": generate_token_key(), "DATABASE_URL": database_url}
    return build_app(load_config(path, env=env, features=WITH_EXAMPLE), WITH_EXAMPLE)


def _deliver(app: Flask, name: str, n: str) -> None:
    inbox.accept(get_db(app), member_id="m1", kind="event", name=name, dedupe_key=f"{name}-{n}",
                 payload={"event": name, "data": {"N": n}})
    get_executor(app).run_once()


def test_a_feature_brings_its_section_route_handler_job_and_command(tmp_path: Path, database_url: str) -> None:
    app = _app(tmp_path, database_url, example={"greeting": "Добрый день"})
    assert app.test_client().get("/example/hello").text == "Добрый день"
    _deliver(app, "ONEXAMPLE", "7")
    assert app.extensions["example.seen"] == ["7"]
    assert "example_tick" in {job.id for job in build_scheduler(app, blocking=False).get_jobs()}
    assert "example" in get_features(app).names
    assert CliRunner().invoke(EXAMPLE.cli[0]).output == "привет\n"


def test_a_feature_switched_off_is_not_routed_dispatched_or_scheduled(tmp_path: Path, database_url: str) -> None:
    app = _app(tmp_path, database_url, features={"example": False})
    assert app.test_client().get("/example/hello").status_code == 404
    _deliver(app, "ONEXAMPLE", "8")
    assert "example.seen" not in app.extensions
    assert inbox.list_items(get_db(app))[0].last_error == "нет обработчика для event ONEXAMPLE"
    assert "example_tick" not in {job.id for job in build_scheduler(app, blocking=False).get_jobs()}


def test_its_section_is_validated_with_the_rest(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ConfigError) as info:
        _app(tmp_path, database_url, example={"greeting": ""}, features={"nosuch": True})
    keys = {problem.key for problem in info.value.problems}
    assert {"example.greeting", "features.nosuch"} <= keys


def test_a_required_feature_cannot_be_switched_off(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ConfigError) as info:
        _app(tmp_path, database_url, features={"onec": False})
    assert any(p.key == "features.onec" and "Синхронизация" in p.expected for p in info.value.problems)
