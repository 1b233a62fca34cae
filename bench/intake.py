"""Intake benchmark: concurrent verified events against ``b24app web`` (gunicorn) on SQLite.

    python -m bench.intake [--events 20000] [--clients 2] [--threads 16] [--workers 3]

Prints one JSON object ``{"events_per_s", "p99_ms", "lost", ...}``. ``lost`` counts events the
server answered 200 "accepted" for that are not in the inbox afterwards.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import yaml

MEMBER_ID = "bench0000000000000000000000000000"
APP_TOKEN = "benchapplicationtoken000000000000"


def _prepare(workdir: Path) -> tuple[Path, dict[str, str]]:
    """Write app.yaml + env and store one installed portal."""
    from b24app import create_app
    from b24app.config import generate_token_key, load_config
    from b24app.db import get_db, upgrade_schema
    from b24app.models import utcnow
    from b24app.portal import get_store
    from b24app.store import NewInstallation, TokenSet

    path = workdir / "app.yaml"
    path.write_text(yaml.safe_dump({"mode": "app", "app": {"public_url": "http://127.0.0.1:1"}}), encoding="utf-8")
    env = {"B24_CLIENT_ID": "local.bench.1", "B24_CLIENT_SECRET": "s", "B24APP_TOKEN_KEY": generate_token_key(),
           "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}"}
    app = create_app(load_config(path, env=env))
    upgrade_schema(get_db(app).url)
    get_store(app).save(NewInstallation(
        member_id=MEMBER_ID, domain="bench.bitrix24.ru", client_endpoint="https://bench.bitrix24.ru/rest/",
        server_endpoint=None, tokens=TokenSet("a", "r", utcnow() + timedelta(hours=1)),
        application_token=APP_TOKEN, scopes=("user",), admin_user_id=1, app_version=1))
    get_db(app).dispose()
    return path, env


def _body(n: int) -> bytes:
    return urlencode({"event": "ONUSERUPDATE", "event_handler_id": "3", "data[FIELDS][ID]": str(n), "ts": str(n),
                      "auth[domain]": "bench.bitrix24.ru", "auth[member_id]": MEMBER_ID,
                      "auth[application_token]": APP_TOKEN, "auth[access_token]": "x" * 70}).encode()


def _client_process(port: int, first: int, count: int, threads: int, out: multiprocessing.Queue) -> None:
    """Send ``count`` events over ``threads`` keep-alive connections; report latencies."""
    latencies: list[float] = []
    accepted = errors = 0
    lock = threading.Lock()

    def run(numbers: range) -> None:
        nonlocal accepted, errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        ok = bad = 0
        for n in numbers:
            started = time.perf_counter()
            try:
                conn.request("POST", "/b24/events", body=_body(n),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            local.append(time.perf_counter() - started)
            if response.status == 200 and b"accepted" in payload:
                ok += 1
            else:
                bad += 1
        with lock:
            latencies.extend(local)
            accepted += ok
            errors += bad

    per_thread = count // threads
    workers = [threading.Thread(target=run, args=(range(first + i * per_thread, first + (i + 1) * per_thread),))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put({"latencies": latencies, "accepted": accepted, "errors": errors})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/b24/app")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("b24app web did not start")


def _stored(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM inbox_items")).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_path, env = _prepare(Path(tmp))
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "b24app.cli", "web", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
            env={**os.environ, **env, "B24APP_CONFIG": str(config_path), "B24APP_LOG_LEVEL": "WARNING"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(port)
            per_client = args.events // args.clients
            queue: multiprocessing.Queue = multiprocessing.Queue()
            started = time.perf_counter()
            clients = [multiprocessing.Process(target=_client_process,
                                               args=(port, i * per_client, per_client, args.threads, queue))
                       for i in range(args.clients)]
            for client in clients:
                client.start()
            reports = [queue.get() for _ in clients]
            wall = time.perf_counter() - started
            for client in clients:
                client.join()
        finally:
            server.terminate()
            server.wait(10)
        latencies = sorted(x for r in reports for x in r["latencies"])
        accepted = sum(r["accepted"] for r in reports)
        stored = _stored(env["DATABASE_URL"])
    print(json.dumps({
        "events_per_s": round(accepted / wall, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "lost": accepted - stored,
        "events": args.events, "accepted": accepted, "errors": sum(r["errors"] for r in reports),
        "wall_s": round(wall, 2), "gunicorn_workers": args.workers, "database": "sqlite",
    }))


if __name__ == "__main__":
    main()
