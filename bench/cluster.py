"""Cluster benchmark: the service on Celery + RabbitMQ + Redis + PostgreSQL against emulated portals.

    python -m bench.cluster [--time-scale 10] [--window 12] [--portals 10] [--intake-events 6000]

Prints one JSON object:
- ``one_portal``: 3 Celery workers (each call they process asks the portal ``app.info``) and a
  separate caller process (standing for the sync and the pages: its own REST client on the same
  shared limits, four threads) all call ONE emulated portal (standard plan,
  ``--time-scale``); ``rejected_503`` at the portal and ``ratio_to_bound`` = requests/s the portal
  drained in the window ÷ its bound (2 req/s × time scale): ``requests_per_s`` counts the requests it
  served less the rise of its bucket (the shared limiter's mirror in Redis), so a burst served is not
  taken for throughput; ``served_per_s`` is the raw count;
- ``many_portals``: ``--portals`` portals, each kept busy, against one portal alone on the same
  cluster and time scale (``--many-time-scale``: chosen so that the portals' total bound fits the
  machine, which also hosts every emulator and the whole cluster): ``ratio_to_one`` = their total
  requests/s ÷ the one portal's;
- ``intake``: verified events answered by the cluster's 2 gunicorn processes (PostgreSQL, publish to
  RabbitMQ with confirms) against the single-machine service (``bench.intake``'s setup: gunicorn on
  SQLite, the same process and thread counts, no processing), both loaded here: ``events_per_s``,
  ``p50_ms``, ``p99_ms`` and ``ratio_to_single``. ``cluster`` is measured with the Celery workers
  stopped (on this machine they would share its two cores with the web tier; on a real cluster they
  run elsewhere), then started again to process everything; ``cluster_while_processing`` with
  them running; ``single_machine_postgresql`` is the single-machine service on PostgreSQL, to tell the
  database's share from the broker's. ``lost`` = calls answered "accepted" that the cluster never processed.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis
import requests
import sqlalchemy as sa

from bench import intake
from bench.cluster_harness import REDIS_URL, Cluster

WEB_WORKERS = 2


def _caller(env: dict[str, str], member_id: str, stop_at: float) -> None:
    """A separate process calling the portal through the service's own client and shared limits."""
    os.environ.update(env)
    from bench.cluster_node import make_app
    from b24app.portal import client_for

    app = make_app()

    def loop() -> None:
        with client_for(app, member_id) as client:
            while time.monotonic() < stop_at:
                client.call("user.get", {"ID": 1})

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _counters(cluster: Cluster) -> list[dict]:
    return [requests.get(f"{p.url}/_emulator/counters", timeout=30).json() for p in cluster.portals]


WARMUP_S = 6.0


def _levels(cluster: Cluster, bound: float) -> float:
    """The portals' buckets as the shared limiter holds them in Redis (requests not yet drained), added up."""
    link = redis.Redis.from_url(REDIS_URL)
    seconds, micros = link.time()
    now = seconds + micros / 1e6
    total = 0.0
    for portal in cluster.portals:
        level, updated = link.hmget(f"b24app:limits:{{{portal.member_id}}}:bucket", "level", "updated")
        if level is not None:
            total += max(0.0, float(level) - (now - float(updated)) * bound)
    return total


def _busy_window(cluster: Cluster, window_s: float, bound: float, *, caller: bool, first: int = 0) -> dict:
    """Keep every portal's queue full, then count what the portals drained in a window: the requests
    they served less the rise of their buckets (a burst served is not throughput)."""
    events_per_portal = int(bound * (WARMUP_S + window_s + 10)) + 100
    plan = [(portal, first + n) for n in range(events_per_portal) for portal in cluster.portals]
    sender = threading.Thread(target=cluster.send_events, args=(plan,), kwargs={"threads": 8})
    sender.start()
    time.sleep(WARMUP_S)
    processes = []
    if caller:
        stop_at = time.monotonic() + window_s + 4
        processes = [multiprocessing.Process(target=_caller, args=(cluster.env, cluster.portals[0].member_id, stop_at))]
        for process in processes:
            process.start()
        time.sleep(2)
    before, level_before, started = _counters(cluster), _levels(cluster, bound), time.monotonic()
    time.sleep(window_s)
    after, level_after, elapsed = _counters(cluster), _levels(cluster, bound), time.monotonic() - started
    for process in processes:
        process.join()
    served = sum(a["requests"] - b["requests"] for a, b in zip(after, before))
    rejected = sum(a.get("rejected_503", 0) + a.get("rejected_429", 0) for a in after)
    workers = len(cluster.workers)
    cluster.stop_workers()  # what is left in the queues is not measured: stop here
    sender.join()
    for _ in range(workers):
        cluster.start_worker()
    return {"requests_per_s": round((served - (level_after - level_before)) / elapsed, 2),
            "served_per_s": round(served / elapsed, 2), "rejected_503": rejected, "portals": len(cluster.portals)}


def _seed_bench_portal(app, portal_url: str) -> None:  # type: ignore[no-untyped-def]
    """bench.intake's portal in ``app``'s database (its REST endpoint at ``portal_url``)."""
    from datetime import timedelta

    from b24app.db import get_db
    from b24app.models import utcnow
    from b24app.portal import get_store
    from b24app.store import NewInstallation, TokenSet

    get_store(app).save(NewInstallation(
        member_id=intake.MEMBER_ID, domain="bench.bitrix24.ru", client_endpoint=f"{portal_url}/rest/",
        server_endpoint=None, tokens=TokenSet("a", "r", utcnow() + timedelta(hours=1)),
        application_token=intake.APP_TOKEN, scopes=("user",), admin_user_id=1, app_version=1))
    get_db(app).dispose()


def _processed(cluster: Cluster, expected: int, timeout_s: float = 300) -> int:
    """How many of bench.intake's calls the cluster processed (waiting up to ``timeout_s`` for ``expected``)."""
    deadline = time.monotonic() + timeout_s
    with cluster.connect() as connection:
        while True:
            done = connection.execute(sa.text("SELECT count(*) FROM inbox_items WHERE member_id = :m "
                                              "AND status = 'done'"), {"m": intake.MEMBER_ID}).scalar_one()
            if done >= expected or time.monotonic() > deadline:
                return done
            time.sleep(1)


def _intake(cluster: Cluster, args: argparse.Namespace) -> dict:
    """bench.intake's load against the cluster's web processes: first with the workers stopped (they
    come back afterwards), then with them processing; every accepted call must end up processed."""
    _seed_bench_portal(cluster.app(), cluster.portals[0].url)
    workers = len(cluster.workers)
    cluster.stop_workers()
    alone = intake._load(cluster.port, 0, args)
    for _ in range(workers):
        cluster.start_worker()
    busy = intake._load(cluster.port, args.events, args)
    processed = _processed(cluster, alone["accepted"] + busy["accepted"])
    return {"cluster": alone, "cluster_while_processing": busy,
            "lost": alone["accepted"] + busy["accepted"] - processed}


def _intake_single(args: argparse.Namespace, *, postgresql: bool) -> dict:
    """The single-machine figure: bench.intake's service (gunicorn, the same settings) on SQLite, or on
    PostgreSQL (a fresh schema)."""
    from bench.cluster_harness import POSTGRES_URL
    from service import create_app, load_config, upgrade_schema

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL)
    portal_url, portal = intake._refusing_portal()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config_path, env = intake._prepare(Path(tmp), portal_url)
            if postgresql:
                with engine.begin() as connection:
                    connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                env["DATABASE_URL"] = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
                upgrade_schema(env["DATABASE_URL"])
                _seed_bench_portal(create_app(load_config(config_path, env=env)), portal_url)
            port = intake._free_port()
            server = intake._serve([sys.executable, "-m", "service.cli", "web", "--bind", f"127.0.0.1:{port}",
                                    "--workers", str(WEB_WORKERS), "--threads", "4"],
                                   {**env, "B24APP_CONFIG": str(config_path), "B24APP_LOG_LEVEL": "ERROR"}, port)
            try:
                return intake._load(port, 0, args)
            finally:
                intake._stop(server)
    finally:
        portal.shutdown()
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=12.0, help="seconds of steady state measured")
    parser.add_argument("--portals", type=int, default=10)
    parser.add_argument("--many-time-scale", type=float, default=1.25,
                        help="time scale of the many-portals run: 10 portals x 2 req/s x 1.25 = 25 req/s fits 2 cores")
    parser.add_argument("--intake-events", type=int, default=6000)
    args = parser.parse_args()
    bound = 2.0 * args.time_scale
    load = argparse.Namespace(events=args.intake_events, clients=2, threads=6)
    result: dict = {"bound_requests_per_s": bound}
    with tempfile.TemporaryDirectory() as tmp:
        with Cluster(Path(tmp), portals=1, time_scale=args.time_scale, web_workers=WEB_WORKERS,
                     celery_workers=3, concurrency=8) as cluster:
            one = _busy_window(cluster, args.window, bound, caller=True)
            one["ratio_to_bound"] = round(one["requests_per_s"] / bound, 3)
            result["one_portal"] = one
            result["intake"] = _intake(cluster, load)
    result["intake"]["single_machine"] = _intake_single(load, postgresql=False)
    result["intake"]["single_machine_postgresql"] = _intake_single(load, postgresql=True)
    result["intake"]["ratio_to_single"] = round(result["intake"]["cluster"]["events_per_s"]
                                                / result["intake"]["single_machine"]["events_per_s"], 3)
    result["intake"]["ratio_to_single_postgresql"] = round(
        result["intake"]["cluster"]["events_per_s"] / result["intake"]["single_machine_postgresql"]["events_per_s"], 3)
    result["lost"] = result["intake"].pop("lost")
    with tempfile.TemporaryDirectory() as tmp:
        scale = args.many_time_scale
        with Cluster(Path(tmp), portals=args.portals, time_scale=scale, web_workers=WEB_WORKERS,
                     celery_workers=3, concurrency=12) as cluster:
            single = _busy_window_subset(cluster, args.window, 2 * scale)
            many = _busy_window(cluster, args.window, 2 * scale, caller=False, first=1_000_000)
            many["bound_per_portal"] = 2 * scale
            many["one_portal_requests_per_s"] = single["requests_per_s"]
            many["ratio_to_one"] = round(many["requests_per_s"] / single["requests_per_s"], 2)
            result["many_portals"] = many
    print(json.dumps(result, ensure_ascii=False))


def _busy_window_subset(cluster: Cluster, window_s: float, bound: float) -> dict:
    """The one-portal figure on the same cluster and time scale: only the first portal is busy."""
    portals = cluster.portals
    cluster.portals = portals[:1]
    try:
        return _busy_window(cluster, window_s, bound, caller=False)
    finally:
        cluster.portals = portals


if __name__ == "__main__":
    main()
