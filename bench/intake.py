"""Intake benchmark: concurrent verified events against ``b24app web`` (gunicorn) on SQLite.

    python -m bench.intake [--events 20000] [--clients 2] [--threads 6] [--workers 3] [--server-threads 1]

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
    from b24app.app import upgrade
    from b24app.db import get_db
    from b24app.config import generate_token_key
    from service import create_app, load_config
    from b24app.models import utcnow
    from b24app.portal import get_store
    from b24app.store import NewInstallation, TokenSet

    path = workdir / "app.yaml"
    path.write_text(yaml.safe_dump({"mode": "app", "app": {"public_url": "http://127.0.0.1:1"}}), encoding="utf-8")
    env = {"B24_CLIENT_ID": "local.bench.1", "B24_CLIENT_SECRET": "s", "B24APP_TOKEN_KEY": generate_token_key(),
           "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}"}
    app = create_app(load_config(path, env=env))
    upgrade(app)
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


def _request(port: int, n: int) -> bytes:
    body = _body(n)
    head = (f"POST /b24/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with Content-Length from a keep-alive socket."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        rest += chunk
    buffer[:] = rest[length:]
    return status, rest[:length]


def _client_process(port: int, first: int, count: int, threads: int, out: multiprocessing.Queue) -> None:
    """Send ``count`` events over ``threads`` keep-alive connections (raw sockets: a light client)."""
    results: list[tuple[list[float], int, int]] = []
    lock = threading.Lock()

    def run(numbers: range) -> None:
        requests_ = [_request(port, n) for n in numbers]
        latencies: list[float] = []
        ok = bad = 0
        sock = socket.create_connection(("127.0.0.1", port))
        buffer = bytearray()
        for raw in requests_:
            started = time.perf_counter()
            try:
                sock.sendall(raw)
                status, payload = _read_response(sock, buffer)
            except OSError:
                bad += 1
                sock.close()
                sock = socket.create_connection(("127.0.0.1", port))
                buffer.clear()
                continue
            latencies.append(time.perf_counter() - started)
            ok, bad = (ok + 1, bad) if status == 200 and b"accepted" in payload else (ok, bad + 1)
        sock.close()
        with lock:
            results.append((latencies, ok, bad))

    per_thread = count // threads
    workers = [threading.Thread(target=run, args=(range(first + i * per_thread, first + (i + 1) * per_thread),))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put({"latencies": [x for r in results for x in r[0]], "accepted": sum(r[1] for r in results),
             "errors": sum(r[2] for r in results)})


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
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--server-threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_path, env = _prepare(Path(tmp))
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "web", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
             "--threads", str(args.server_threads)],
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
        "wall_s": round(wall, 2), "gunicorn_workers": args.workers, "gunicorn_threads": args.server_threads,
        "connections": args.clients * args.threads, "database": "sqlite",
    }))


if __name__ == "__main__":
    main()
