"""Fixtures: one emulator per module, a requests session with UTF-8 Basic credentials."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests

from emulators.onec import RunningOneC, serve
from emulators.onec.schema import ALL_SET_NAMES

SPEC = "employees=300,orgs=3,departments=20"


@pytest.fixture(scope="module")
def zup() -> Iterator[RunningOneC]:
    running = serve(port=0, generate=SPEC, seed=1)
    yield running
    running.stop()


@pytest.fixture
def http(zup: RunningOneC) -> Iterator[requests.Session]:
    """Authenticated session; faults and publication are restored after each test."""
    session = requests.Session()
    session.auth = (zup.login.encode("utf-8"), zup.password.encode("utf-8"))
    yield session
    requests.delete(f"{zup.url}/_emulator/faults", timeout=10)
    requests.post(f"{zup.url}/_emulator/publish", json={"sets": list(ALL_SET_NAMES)}, timeout=10)
    session.close()


def rows(http: requests.Session, zup: RunningOneC, set_name: str, **params: Any) -> list[dict[str, Any]]:
    """GET a set as JSON and return `value` (asserting HTTP 200)."""
    response = http.get(zup.odata_url + set_name, params={"$format": "json", **params}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["value"]
