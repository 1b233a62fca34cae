"""The workgroup tab is bound at install and bound again after an update wiped it."""
from __future__ import annotations

from pathlib import Path

import pytest

from b24app.portal import client_for
from tests.support import EmulatedInstall


@pytest.fixture
def setup(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    installed = EmulatedInstall(tmp_path, database_url)
    yield installed
    installed.stop()


def _bound(setup: EmulatedInstall) -> set[tuple[str, str]]:
    return {(p["placement"], p["handler"]) for p in client_for(setup.app).call("placement.get", {}).result}


def test_the_group_tab_is_bound_at_install_and_after_update(setup: EmulatedInstall) -> None:
    setup.install()
    setup.drain()
    page = f"{setup.public_url}/b24/app"
    assert {("SONET_GROUP_DETAIL_TAB", page), ("REST_APP_URI", page)} <= _bound(setup)
    setup.hook(f"apps/{setup.client_id}/update", {"version": 2})
    setup.drain()
    assert {("SONET_GROUP_DETAIL_TAB", page), ("REST_APP_URI", page)} <= _bound(setup)
    titles = [p["title"] for p in client_for(setup.app).call("placement.get", {}).result
              if p["placement"] == "SONET_GROUP_DETAIL_TAB"]
    assert titles == ["Люди площадки"]
