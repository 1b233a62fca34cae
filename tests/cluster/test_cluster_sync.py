"""A sync run as a Celery task on the cluster, for the one portal whose app.yaml entry has a ``sync:``:
the worker running it is killed mid-run; the task returns to the broker, another worker runs it
once the dead run's lease is out, and the portal converges (the next plan writes nothing)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from b24app.tenancy import portal_scope
from emulators.onec import serve as serve_onec
from bench.cluster_harness import Cluster
from tests.sync_jobs.conftest import SYNC_TODAY

pytestmark = pytest.mark.cluster

PASSWORD_ENV = "ONEC_ZUP_PASSWORD"


@pytest.fixture
def zup():  # type: ignore[no-untyped-def]
    running = serve_onec(port=0, generate="employees=300,orgs=2,departments=8", seed=3)
    yield running
    running.stop()


def _sections(zup) -> dict:  # type: ignore[no-untyped-def]
    return {"onec": {"connections": [{"name": "zup", "mode": "odata", "url": zup.odata_url, "login": zup.login,
                                      "password_env": PASSWORD_ENV}]},
            "sync": {"grace_days": 0, "owner_id": 1, "today": SYNC_TODAY}}


def _runs(cluster: Cluster) -> list[tuple[str, str]]:
    with cluster.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text("SELECT mode, status FROM sync_runs ORDER BY id"))]


def test_a_sync_killed_with_its_worker_is_run_again_and_converges(tmp_path: Path, zup) -> None:  # type: ignore[no-untyped-def]
    with Cluster(tmp_path, portals=2, time_scale=20, celery_workers=2, concurrency=2,
                 portal_sections={0: _sections(zup)}, env={PASSWORD_ENV: zup.password}) as cluster:
        synced, other = cluster.portals
        app = cluster.app()
        from b24app.engine.celery_app import get_celery
        from b24app.engine.queues import EXCHANGE, JOBS
        from b24app.engine.tasks import RUN_JOB

        get_celery(app).send_task(RUN_JOB, args=("sync_full", synced.member_id), queue=JOBS, exchange=EXCHANGE,
                                  routing_key=JOBS.routing_key)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _runs(cluster):  # the run started: kill whoever holds it
            time.sleep(0.02)
        for _ in range(2):
            cluster.kill_worker()
        cluster.start_worker()
        cluster.start_worker()
        while time.monotonic() < deadline and not any(status in ("ok", "partial") for _, status in _runs(cluster)):
            time.sleep(0.5)
        runs = _runs(cluster)
        assert runs[0] == ("full", "interrupted") and runs[-1][1] in ("ok", "partial")

        from sync_jobs.run import preview

        with app.app_context(), portal_scope(synced.member_id):
            plan = preview(app).plan
        assert {name: count for name, count in plan.counts().items() if count and name != "skipped"} == {}
        assert requests.get(f"{other.url}/_emulator/counters", timeout=10).json()["by_method"].get("user.add") is None
