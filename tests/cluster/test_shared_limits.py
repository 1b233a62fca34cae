"""Each portal's limits shared through Redis: several clients (as several processes would) never make
the emulated portal refuse; with Redis unreachable each falls back to its conservative share;
scheduled jobs are fired once across scheduler replicas."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from b24app.bitrix import B24Client, RateLimits
from b24app.bitrix.shared import RedisLink, SharedGovernor, SharedRequestPacer, conservative
from b24app.db import Database
from b24app.scheduling import claim_fire
from emulators.bitrix24 import serve
from bench.cluster_harness import REDIS_URL

pytestmark = pytest.mark.cluster

SCALE = 10.0


@pytest.fixture
def portal():  # type: ignore[no-untyped-def]
    running = serve(port=0, time_scale=SCALE)
    yield running
    running.stop()


@pytest.fixture
def key() -> str:
    name = f"test-{uuid.uuid4().hex}"
    yield name
    link = redis.Redis.from_url(REDIS_URL)
    for stale in link.scan_iter(f"b24app:limits:{{{name}}}:*"):
        link.delete(stale)


def _client(portal, link: RedisLink, key: str, limits: RateLimits) -> B24Client:  # type: ignore[no-untyped-def]
    return B24Client(portal.webhook_url, webhook=True, plan_limits=limits,
                     pacer=SharedRequestPacer(link, key, limits), governor=SharedGovernor(link, key, limits))


def test_four_clients_sharing_the_bucket_never_get_refused(portal, key: str) -> None:  # type: ignore[no-untyped-def]
    limits = RateLimits().scaled(SCALE)
    clients = [_client(portal, RedisLink(REDIS_URL), key, limits) for _ in range(4)]
    requests.post(f"{portal.url}/_emulator/counters/reset", timeout=10)
    # 4 x 40 calls at once: 160 calls against a bucket of 50 draining 20/s, far over the burst
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: clients[n % 4].call("user.get", {"ID": 1}), range(160)))
    counters = requests.get(f"{portal.url}/_emulator/counters", timeout=10).json()
    assert counters["rejected_503"] == 0
    assert counters["requests"] == 160


def test_without_the_shared_bucket_the_same_load_is_refused(portal) -> None:  # type: ignore[no-untyped-def]
    """The control: four in-process limiters each spend the portal's whole budget."""
    limits = RateLimits().scaled(SCALE)
    clients = [B24Client(portal.webhook_url, webhook=True, plan_limits=limits, max_attempts=20) for _ in range(4)]
    requests.post(f"{portal.url}/_emulator/counters/reset", timeout=10)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: clients[n % 4].call("user.get", {"ID": 1}), range(160)))
    assert requests.get(f"{portal.url}/_emulator/counters", timeout=10).json()["rejected_503"] > 0


def test_redis_down_means_conservative_local_limits(key: str) -> None:
    limits = RateLimits().scaled(SCALE)
    link = RedisLink("redis://127.0.0.1:1/0")  # nothing listens there: connection refused
    pacer = SharedRequestPacer(link, key, limits, fallback_share=4)
    delays = [pacer.reserve() for _ in range(6)]
    share = conservative(limits, 4)
    assert share.requests_per_s == limits.requests_per_s / 4 and share.burst == 1
    # no burst: each request after the first waits its 1/(rate/4) turn; never unbounded
    assert delays[0] == 0
    assert all(later > earlier for earlier, later in zip(delays, delays[1:]))
    assert delays[-1] >= 4.5 / share.requests_per_s
    assert SharedGovernor(link, key, limits).allowance("user.add") >= 1


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_shared_bucket_does_not_drain_what_is_still_in_flight(key: str) -> None:
    """16 requests booked by one process on a cold bucket and stalled before reaching the portal (a busy
    machine): time passing frees no slot for them, in another process either, until they are answered."""
    clock = ManualClock()
    limits = RateLimits(requests_per_s=200.0, burst=50)  # 50 - 1 - min(25, 200 x 0.25) = 24 slots at once
    web, worker = (SharedRequestPacer(RedisLink(REDIS_URL), key, limits, clock=clock) for _ in range(2))
    assert [web.reserve() for _ in range(16)] == [0.0] * 16
    clock.now += 0.1  # 20 slots' worth of drain while the 16 are still on their way
    assert [worker.reserve() for _ in range(8)] == [0.0] * 8  # 16 + 8 = 24: no more at once
    assert worker.reserve() > 0
    for _ in range(16):
        web.answered()
    for _ in range(9):
        worker.answered()
    clock.now += 0.25  # answered and drained: the bucket is cold again
    assert [worker.reserve() for _ in range(24)] == [0.0] * 24


def test_a_dead_process_bookings_lapse(key: str) -> None:
    clock = ManualClock()
    limits = RateLimits(requests_per_s=200.0, burst=50)
    dead = SharedRequestPacer(RedisLink(REDIS_URL), key, limits, clock=clock, lease_s=5.0)
    assert [dead.reserve() for _ in range(24)] == [0.0] * 24  # and the process dies: never answered
    alive = SharedRequestPacer(RedisLink(REDIS_URL), key, limits, clock=clock, lease_s=5.0)
    clock.now += 4.0
    assert alive.reserve() > 0
    alive.answered()
    clock.now += 2.0  # the dead process's bookings lapsed
    assert [alive.reserve() for _ in range(24)] == [0.0] * 24


def test_redis_down_answered_requests_free_the_local_bucket(key: str) -> None:
    clock = ManualClock()
    limits = RateLimits().scaled(SCALE)
    pacer = SharedRequestPacer(RedisLink("redis://127.0.0.1:1/0"), key, limits, fallback_share=4, clock=clock)
    for _ in range(10):  # one request at a time at the conservative rate: never held back
        assert pacer.reserve() == 0
        pacer.answered()
        clock.now += 1 / conservative(limits, 4).requests_per_s


def test_a_job_fires_once_per_stamp_across_replicas(tmp_path: Path, database_url: str) -> None:
    fired: list[tuple[int, str]] = []
    replicas = [Database(database_url) for _ in range(3)]
    stamps = [f"2026-01-01T00:{minute:02d}:00+00:00" for minute in range(8)]

    def replica(index: int) -> None:
        for stamp in stamps:
            claim_fire(replicas[index], "fire:sync_incremental", stamp, 60,
                       lambda stamp=stamp: fired.append((index, stamp)))

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(replica, range(3)))
    assert sorted(stamp for _, stamp in fired) == stamps
    for db in replicas:
        db.dispose()


def test_a_refused_publish_leaves_the_stamp_to_another_replica(database_url: str) -> None:
    db = Database(database_url)

    def broker_down() -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        claim_fire(db, "fire:sync_full", "2026-01-01T02:30:00+00:00", 60, broker_down)
    assert claim_fire(db, "fire:sync_full", "2026-01-01T02:30:00+00:00", 60, lambda: None)
    assert not claim_fire(db, "fire:sync_full", "2026-01-01T02:30:00+00:00", 60, lambda: None)
    db.dispose()
