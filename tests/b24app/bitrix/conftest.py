"""A real emulated portal over HTTP, an in-memory TokenProvider, and clients built on them."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from b24app.bitrix import B24Client, RateLimits


TIME_SCALE = 100.0


class Portal:
    """The running emulator plus its `/_emulator/...` test hooks."""

    def __init__(self, running: Any) -> None:
        self.running = running
        self.url = running.url

    def hook(self, path: str, body: dict[str, Any] | None = None, *, http: str = "POST") -> Any:
        response = requests.request(http, f"{self.url}/_emulator/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def counters(self) -> dict[str, Any]:
        return self.hook("counters", http="GET")

    def calls(self, method: str) -> int:
        return int(self.counters()["by_method"].get(method, {}).get("calls", 0))

    def fault(self, **spec: Any) -> None:
        self.hook("faults", spec)

    def webhook_url(self) -> str:
        created = self.hook("webhooks", {"user_id": 1, "scopes": ["user", "department", "sonet_group"]})
        return created["url"]

    def install_app(self) -> dict[str, Any]:
        app = self.hook("apps", {"handler_url": "http://127.0.0.1:9/handler", "install_url": "http://127.0.0.1:9/install",
                                 "scopes": ["user", "department", "sonet_group"]})
        self.hook(f"apps/{app['client_id']}/install-finish")
        return app

    def seed_users(self, count: int, prefix: str = "seed") -> list[int]:
        users = [{"NAME": f"N{n}", "LAST_NAME": f"L{n}", "EMAIL": f"{prefix}{n}@example.org"} for n in range(count)]
        return [int(user_id) for user_id in self.hook("users", users)["IDs"]]


class MemoryTokens:
    """The TokenProvider seam, kept in memory; refreshes against the emulator's OAuth server."""

    def __init__(self, portal: Portal, app: dict[str, Any]) -> None:
        self._oauth_url = f"{portal.running.oauth_url}/oauth/token/"
        self._app = app
        issued = portal.hook("tokens", {"client_id": app["client_id"], "user_id": 1})
        self._access, self._refresh = issued["access_token"], issued["refresh_token"]
        self._lock = threading.Lock()
        self.refreshes = 0

    def current(self) -> str:
        return self._access

    def refresh(self, stale_token: str) -> str:
        with self._lock:
            if stale_token != self._access:
                return self._access
            response = requests.get(self._oauth_url, timeout=10, params={
                "grant_type": "refresh_token", "client_id": self._app["client_id"],
                "client_secret": self._app["client_secret"], "refresh_token": self._refresh})
            response.raise_for_status()
            issued = response.json()
            self._access, self._refresh = issued["access_token"], issued["refresh_token"]
            self.refreshes += 1
            return self._access


@pytest.fixture(scope="module")
def running() -> Iterator[Any]:
    from emulators.bitrix24 import serve  # imported here so the pure tests run without the emulator

    server = serve(port=0, plan="standard", time_scale=TIME_SCALE)
    yield server
    server.stop()


@pytest.fixture
def portal(running: Any) -> Portal:
    portal = Portal(running)
    portal.hook("reset")
    return portal


@pytest.fixture
def limits() -> RateLimits:
    return RateLimits().scaled(TIME_SCALE)


@pytest.fixture
def hook_client(portal: Portal, limits: RateLimits) -> Iterator[B24Client]:
    with B24Client(portal.webhook_url(), webhook=True, plan_limits=limits) as client:
        yield client


@pytest.fixture
def tokens(portal: Portal) -> MemoryTokens:
    return MemoryTokens(portal, portal.install_app())


@pytest.fixture
def app_client(portal: Portal, tokens: MemoryTokens, limits: RateLimits) -> Iterator[B24Client]:
    with B24Client(f"{portal.url}/rest/", tokens=tokens, plan_limits=limits) as client:
        yield client
