"""Fixtures: a fresh emulated portal per test, talked to over HTTP on 127.0.0.1."""
from __future__ import annotations

import logging
from typing import Any, Iterator

import pytest
import requests

from emulators.bitrix24 import ManualClock, RunningBitrix24, serve

logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture
def portal() -> Iterator[RunningBitrix24]:
    running = serve(port=0)
    yield running
    running.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked_portal(clock: ManualClock) -> Iterator[RunningBitrix24]:
    """A standard-plan portal whose limits run on a clock the test moves."""
    running = serve(port=0, clock=clock)
    yield running
    running.stop()


def call(portal: RunningBitrix24, method: str, **params: Any) -> requests.Response:
    """POST a JSON body to the admin webhook."""
    return requests.post(portal.webhook_url + method, json=params, timeout=30)


def result(portal: RunningBitrix24, method: str, **params: Any) -> Any:
    response = call(portal, method, **params)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def hook(portal: RunningBitrix24, path: str, body: Any = None, http_method: str = "POST") -> Any:
    response = requests.request(http_method, f"{portal.url}/_emulator/{path}", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()
