"""Both emulators over real HTTP and an app configured for them (webhook mode)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from service import create_app
from b24app.config import generate_token_key
from tests.support import write_config

TIME_SCALE = 100.0
GENERATE = "employees=120,orgs=2,departments=8"
SEED = 3
PASSWORD_ENV = "TEST_SYNC_ONEC_PASSWORD"
# The date the sync plans as of (``sync.today``), never the wall clock: the emulated 1C's data starts on
# 2026-11-01 and holds contracts that end later, so a test whose runs straddle a midnight would see
# people's employments end between two runs of it.
SYNC_TODAY = "2026-12-04"


class Hooks:
    """An emulator's /_emulator hooks."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.base}/_emulator/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None


@pytest.fixture(scope="session")
def portal_server() -> Iterator[Any]:
    from emulators.bitrix24 import serve

    running = serve(port=0, plan="standard", time_scale=TIME_SCALE)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def zup_server() -> Iterator[Any]:
    from emulators.onec import serve

    running = serve(port=0, generate=GENERATE, seed=SEED)
    yield running
    running.stop()


@pytest.fixture
def portal(portal_server: Any) -> Iterator[Hooks]:
    hooks = Hooks(portal_server.url)
    hooks("POST", "reset")
    yield hooks
    hooks("DELETE", "faults")


@pytest.fixture
def zup(zup_server: Any) -> Iterator[Hooks]:
    hooks = Hooks(zup_server.url)
    hooks("POST", "reset", {"generate": GENERATE, "seed": SEED})
    hooks("DELETE", "faults")
    yield hooks
    hooks("DELETE", "faults")


def sync_config_data(zup_server: Any, onec_mode: str = "odata", onec_url: str | None = None,
                     onec_options: dict[str, Any] | None = None, **sync: Any) -> dict[str, Any]:
    """The app.yaml sections the sync needs, as an operator writes them."""
    url = onec_url or (zup_server.odata_url if onec_mode == "odata" else zup_server.wsdl_url)
    return {"mode": "webhook", "bitrix24": {"plan": "standard", "time_scale": TIME_SCALE},
            "onec": {"connections": [{"name": "zup", "mode": onec_mode, "url": url,
                                      "login": zup_server.login, "password_env": PASSWORD_ENV,
                                      "timeouts": {"connect": 2, "read": 30, "operation": 30},
                                      "retry": {"attempts": 2, "max_wait_s": 0.05}, **(onec_options or {})}]},
            "sync": {"grace_days": 0, "today": SYNC_TODAY, **sync}}


def sync_env(portal_server: Any, zup_server: Any) -> dict[str, str]:
    return {"B24_WEBHOOK_URL": portal_server.webhook_url, PASSWORD_ENV: zup_server.password}


@pytest.fixture
def make_app(tmp_path: Path, database_url: str, portal: Hooks, zup: Hooks, portal_server: Any,
             zup_server: Any) -> Iterator[Callable[..., Flask]]:
    """Build the app with extra ``sync:`` settings (same database for every app of the test)."""
    apps: list[Flask] = []
    token_key = generate_token_key()  # one deployment: every process has the same key

    def make(onec_mode: str = "odata", *, token_key: str = token_key, onec_url: str | None = None,
             onec_options: dict[str, Any] | None = None, **sync: Any) -> Flask:
        config = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url,
                              extra=sync_config_data(zup_server, onec_mode, onec_url, onec_options, **sync),
                              env={**sync_env(portal_server, zup_server), "B24APP_TOKEN_KEY": token_key})[0]
        app = create_app(config)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["b24app.db"].dispose()


@pytest.fixture
def sync_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()
