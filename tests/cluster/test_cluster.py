"""A real cluster (2 web processes, 3 Celery workers, the scheduler, RabbitMQ, Redis, PostgreSQL, three
emulated portals): kill a worker, a web process and the broker connections mid-work; every accepted
call is processed exactly once. One portal's burst does not starve another; a paused portal's calls
wait and run after resume."""
from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.cluster_harness import Cluster

pytestmark = pytest.mark.cluster

EVENTS = 300


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Cluster(tmp_path, portals=3, time_scale=5, web_workers=2, celery_workers=3, concurrency=4) as running:
        yield running


def _kills(cluster: Cluster, progress: list[int]) -> None:
    """As the events go in: kill a worker (and start another), a web process, then every broker connection."""
    for threshold, action in ((EVENTS // 4, "worker"), (EVENTS // 2, "web"), (3 * EVENTS // 4, "broker")):
        while len(progress) < threshold:
            time.sleep(0.02)
        if action == "worker":
            cluster.kill_worker()
            cluster.start_worker()
        elif action == "web":
            cluster.kill_web_process()
        else:
            cluster.close_broker_connections()


def test_every_accepted_call_runs_exactly_once_through_kills(cluster: Cluster) -> None:
    progress: list[int] = []
    killer = threading.Thread(target=_kills, args=(cluster, progress))
    killer.start()

    def send(n: int) -> str:
        answer = cluster.send_event(cluster.portals[n % 3], n)
        progress.append(n)
        return answer

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(EVENTS)))
    killer.join(60)
    assert set(answers) <= {"accepted", "duplicate"}  # a duplicate: accepted before its answer was lost
    statuses, effects = cluster.wait_processed(EVENTS)
    assert statuses == {"done": EVENTS}
    assert len(effects) == EVENTS and len(set(effects)) == EVENTS  # every call once, none twice
    portals = Counter(member for member in _effect_portals(cluster))
    assert sorted(portals.values()) == [EVENTS // 3] * 3


def _effect_portals(cluster: Cluster) -> list[str]:
    with cluster.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT member_id FROM cluster_effects"))]


def _done_at(cluster: Cluster) -> dict[str, list[float]]:
    with cluster.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT member_id, extract(epoch FROM processed_at) FROM inbox_items WHERE status = 'done' "
            "AND name = 'ONCLUSTERPROBE'")).all()
    done: dict[str, list[float]] = {}
    for member_id, moment in rows:
        done.setdefault(member_id, []).append(float(moment))
    return done


def test_a_burst_does_not_starve_another_portal_and_pause_keeps_calls(cluster: Cluster) -> None:
    burst, quiet, paused = cluster.portals
    _pause(cluster, paused.member_id, True)
    cluster.send_events([(burst, n) for n in range(400)], threads=8)
    cluster.send_events([(quiet, 1000 + n) for n in range(20)] + [(paused, 2000 + n) for n in range(10)], threads=4)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(_done_at(cluster).get(quiet.member_id, [])) < 20:
        time.sleep(0.2)
    done = _done_at(cluster)
    quiet_finished = max(done[quiet.member_id])
    burst_before = sum(1 for moment in done.get(burst.member_id, []) if moment <= quiet_finished)
    assert len(done[quiet.member_id]) == 20
    assert burst_before < 400 // 2, burst_before  # the quiet portal's calls did not wait behind the burst
    assert paused.member_id not in done  # a paused portal's calls are kept, not run
    _pause(cluster, paused.member_id, False)
    statuses, effects = cluster.wait_processed(430)
    assert statuses == {"done": 430} and len(set(effects)) == len(effects) == 430


def _pause(cluster: Cluster, member_id: str, paused: bool) -> None:
    from b24app.db import get_db
    from b24app.portal import get_store

    app = cluster.app()
    get_store(app).set_paused(member_id=member_id, paused=paused)
    get_db(app).dispose()
