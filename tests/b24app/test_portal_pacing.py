"""Every client of a portal in one process books its requests in the same bucket: the admin's clients,
the proofs of viewers' tokens and the clients acting as a viewer, as the portal counts them together."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from b24app.portal import client_for
from b24app.verify import get_verifier
from emulators.bitrix24.clock import ManualClock
from tests.support import EmulatedInstall

TIME_SCALE = 10  # the portal drains 20 requests/s; its bucket holds 50 (standard plan)


@pytest.fixture
def install(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    installed = EmulatedInstall(tmp_path, database_url, time_scale=TIME_SCALE,
                                extra={"bitrix24": {"time_scale": TIME_SCALE}})
    installed.install()
    installed.drain()
    yield installed
    installed.stop()


def test_clients_made_one_by_one_and_the_proofs_share_the_portals_bucket(install: EmulatedInstall) -> None:
    install.hook("counters/reset")
    for _ in range(60):  # more than the bucket holds, each through a new client as every page view makes one
        client_for(install.app, install.member_id).call("user.current", {})
    token = install.hook("tokens", {"client_id": install.client_id, "user_id": 1})["access_token"]
    viewer = get_verifier(install.app).viewer({"member_id": install.member_id, "AUTH_ID": token})

    assert viewer is not None and viewer.user_id == 1  # the proof has one attempt: a 503 would refuse the viewer
    assert install.hook("counters", method="GET")["rejected_503"] == 0


def test_a_viewer_is_proven_when_another_app_has_filled_the_portals_bucket(tmp_path: Path, database_url: str) -> None:
    """Applications on a portal share its request bucket (REST docs: limits.md), so a proof may meet
    QUERY_LIMIT_EXCEEDED however well we pace ourselves: it is asked once more after a drained slot."""
    clock = ManualClock()  # the portal's bucket drains only when the test says so
    installed = EmulatedInstall(tmp_path, database_url, clock=clock)
    try:
        installed.install()
        installed.drain()
        other = installed.hook("apps", {"handler_url": "http://127.0.0.1:9/", "install_url": "http://127.0.0.1:9/",
                                        "scopes": ["user"]})
        other_token = installed.hook("tokens", {"client_id": other["client_id"], "user_id": 1})["access_token"]
        while requests.post(f"{installed.portal.url}/rest/user.current", json={"auth": other_token},
                            timeout=10).status_code != 503:
            pass  # the other application spends the portal's bucket
        clock.per_request_s = 0.4  # from now each request drains 0.8 of the standard plan's 2/s: the
        # proof's first request is still refused, the second admitted
        token = installed.hook("tokens", {"client_id": installed.client_id, "user_id": 1})["access_token"]
        viewer = get_verifier(installed.app).viewer({"member_id": installed.member_id, "AUTH_ID": token})
    finally:
        installed.stop()

    assert viewer is not None and viewer.user_id == 1
