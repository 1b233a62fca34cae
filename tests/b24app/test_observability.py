"""/healthz reports the database, every installed portal and each feature's checks; /metrics speaks Prometheus."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import requests

from b24app.db import get_db
from b24app.portal import client_for, get_store
from tests.support import EmulatedInstall


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> Iterator[EmulatedInstall]:
    installed = EmulatedInstall(tmp_path, database_url)
    installed.install()
    installed.drain()
    yield installed
    installed.stop()


def _health(setup: EmulatedInstall) -> requests.Response:
    setup.app.extensions.pop("b24app.health", None)  # past the probe cache
    return requests.get(f"{setup.public_url}/healthz", timeout=30)


def test_health_names_what_is_wrong_and_stays_up_while_the_database_answers(setup: EmulatedInstall) -> None:
    domain = get_store(setup.app).find(member_id=setup.member_id).domain
    healthy = _health(setup)
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok", "checks": {"database": "ok", "portals": {domain: "ok"},
                                                         "onec": {}, "timesheets": {"notices": "ok"}}}
    setup.hook("faults", {"kind": "error", "status": 503, "method": "app.info"})
    degraded = _health(setup)
    assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    assert "нет ответа" in degraded.json()["checks"]["portals"][domain]
    setup.hook("faults", method="DELETE")
    with get_db(setup.app).engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE inbox_items RENAME TO inbox_items_away")
    try:
        down = _health(setup)
    finally:
        with get_db(setup.app).engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE inbox_items_away RENAME TO inbox_items")
    assert down.status_code == 503 and down.json()["status"] == "down"


def test_metrics_count_rest_calls_pages_and_the_inbox(setup: EmulatedInstall) -> None:
    client_for(setup.app).call("profile", {})
    requests.get(f"{setup.public_url}/healthz", timeout=30)
    text = requests.get(f"{setup.public_url}/metrics", timeout=30).text
    assert 'b24app_rest_requests_total{method="profile",outcome="ok"}' in text
    assert 'b24app_request_seconds_bucket{endpoint="observability.healthz"' in text
    assert "b24app_inbox_oldest_pending_seconds" in text
    assert "# TYPE b24app_inbox_items gauge" in text
