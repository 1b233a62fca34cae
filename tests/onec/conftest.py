"""A real 1C emulator on 127.0.0.1 shared by the module; every test starts from a fresh company."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from onec.factory import build_source
from onec.source import ZupSource

GENERATE = "employees=200,orgs=3,departments=20"
SEED = 1
PASSWORD_ENV = "TEST_ONEC_PASSWORD"


class Hooks:
    """The emulator's /_emulator test hooks."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, f"{self.base}/_emulator/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None


@pytest.fixture(scope="session")
def zup() -> Iterator[Any]:
    from emulators.onec import serve

    running = serve(port=0, generate=GENERATE, seed=SEED)
    yield running
    running.stop()


@pytest.fixture()
def hooks(zup: Any) -> Iterator[Hooks]:
    hooks = Hooks(zup.odata_url.split("/zup/", 1)[0])
    hooks("POST", "reset", {"generate": GENERATE, "seed": SEED})
    hooks("DELETE", "faults")
    yield hooks
    hooks("DELETE", "faults")


@pytest.fixture()
def today(zup: Any, hooks: Hooks) -> dt.date:
    """The emulated infobase's date (its clock): tests never read the wall clock."""
    return zup.app.store.today


@pytest.fixture()
def connection(zup: Any, hooks: Hooks, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Connection dict for OData mode with fast retries and small pages (many pages per set)."""
    monkeypatch.setenv(PASSWORD_ENV, zup.password)
    return {
        "name": "test", "mode": "odata", "url": zup.odata_url, "login": zup.login,
        "password_env": PASSWORD_ENV,
        "timeouts": {"connect": 2, "read": 5, "operation": 10},
        "paging": {"page_size": 25, "scan_page_size": 60, "key_batch": 15},
        "retry": {"attempts": 3, "max_wait_s": 0.05},
    }


@pytest.fixture()
def make_source(connection: dict[str, Any]) -> Iterator[Callable[..., ZupSource]]:
    """Build sources from the test connection with overrides; closes them afterwards."""
    built: list[ZupSource] = []

    def make(session: requests.Session | None = None, **overrides: Any) -> ZupSource:
        source = build_source({**connection, **overrides}, session=session)
        built.append(source)
        return source

    yield make
    for source in built:
        source.close()
