"""App mode (OAuth): 503s, timeouts and one forced token expiry in the middle of a run."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from b24app.portal import get_store
from sync_jobs import run_sync
from sync_jobs.run import preview
from tests.support import EmulatedInstall
from tests.sync_jobs.conftest import PASSWORD_ENV, TIME_SCALE, Hooks, sync_config_data
from tests.sync_jobs.portal_view import PortalView, write_calls


@pytest.fixture
def installed(tmp_path: Path, database_url: str, zup: Hooks, zup_server: Any) -> Iterator[EmulatedInstall]:
    sections = {key: value for key, value in sync_config_data(zup_server).items() if key != "mode"}
    setup = EmulatedInstall(tmp_path, database_url, extra=sections, env={PASSWORD_ENV: zup_server.password},
                            plan="standard", time_scale=TIME_SCALE)
    setup.install()
    setup.drain()
    yield setup
    setup.stop()


class ExpireOnceWritesStart(threading.Thread):
    """Expires every token once the portal has seen the first user.add: mid-run, before the memberships."""

    def __init__(self, portal_url: str) -> None:
        super().__init__(daemon=True)
        self.portal_url = portal_url
        self.stop = threading.Event()
        self.requests_at_expiry: int | None = None

    def run(self) -> None:
        while not self.stop.wait(0.005):
            counters = requests.get(f"{self.portal_url}/_emulator/counters", timeout=10).json()
            if counters["by_method"].get("user.add", {}).get("calls"):
                requests.post(f"{self.portal_url}/_emulator/tokens/expire", json={}, timeout=10)
                self.requests_at_expiry = counters["requests"]
                return


def _wanted(setup: EmulatedInstall) -> dict[str, set[str]]:
    """XML_ID -> group markers the converged portal must show (users Bitrix24 refused excepted)."""
    prepared = preview(setup.app)
    refused = {record.key for record in prepared.plan.skipped}
    return {f"zup:{user.key}": {f"zup-{group}" for group in user.groups}
            for user in prepared.desired.users.values()
            if user.active is True and user.has_email and user.key not in refused}


def test_token_expiry_503s_and_timeouts_mid_run_lose_and_duplicate_nothing(installed: EmulatedInstall) -> None:
    portal = Hooks(installed.portal.url)
    generation = get_store(installed.app).find(member_id=installed.member_id).token_generation
    portal("POST", "faults", {"rate": 0.05, "status": 503, "kind": "error"})
    portal("POST", "faults", {"rate": 0.05, "kind": "timeout", "delay_s": 0.3})
    portal("POST", "faults", {"method": "batch", "rate": 1.0, "kind": "slow", "delay_s": 0.05})
    portal("POST", "counters/reset")
    expiry = ExpireOnceWritesStart(installed.portal.url)
    expiry.start()
    summary = run_sync(installed.app, full=False)
    expiry.stop.set()
    expiry.join()
    counters = portal("GET", "counters")
    portal("DELETE", "faults")
    assert summary.status in ("ok", "partial"), summary.render()
    assert expiry.requests_at_expiry is not None and counters["requests"] > expiry.requests_at_expiry
    assert get_store(installed.app).find(member_id=installed.member_id).token_generation == generation + 1
    rerun = run_sync(installed.app, full=True)
    assert rerun.status == "ok", rerun.render()
    portal("POST", "counters/reset")
    assert run_sync(installed.app, full=True).write_commands == 0 == write_calls(portal("GET", "counters"))
    view = PortalView.read(portal)
    members = view.members()
    on_portal = {xml: {marker for marker, ids in members.items() if xml in ids} for xml in view.zup_users()}
    assert on_portal == _wanted(installed) and len(on_portal) > 20
