"""Intake benchmark: concurrent verified events against ``b24app web`` (gunicorn) on SQLite.

    python -m bench.intake [--events 20000] [--clients 2] [--threads 6] [--workers 2] [--server-threads 4]
                           [--under-attack] [--attackers 2] [--repeat N]

Prints one JSON object: the genuine events' ``events_per_s``, ``p50_ms``, ``p99_ms`` for the plain run,
for a run while forged calls flood the service (``--under-attack``: wrong application tokens, unknown
portals, forged ONAPPUPDATEs whose token the portal refuses, bodies with too many fields, deep JSON,
NUL bytes, oversized bodies), and for a bare Flask endpoint answering the same requests under the same
gunicorn settings without verifying or storing them (``bench.bare_web``): ``ratio_to_bare`` compares
the plain run with it, so results from different machines compare. ``server_cpu_ms`` is the CPU time
the gunicorn workers spent per accepted call. ``lost`` counts events answered
200 "accepted" that are not in the inbox afterwards.
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


def _prepare(workdir: Path, portal_url: str) -> tuple[Path, dict[str, str]]:
    """Write app.yaml + env and store one installed portal (its REST endpoint answers at ``portal_url``)."""
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
        member_id=MEMBER_ID, domain="bench.bitrix24.ru", client_endpoint=f"{portal_url}/rest/",
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
    raise RuntimeError("web process did not start")


def _refusing_portal() -> tuple[str, object]:
    """A portal endpoint that refuses every token at once, as Bitrix24 does a forged one."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        body = json.dumps({"error": "invalid_token", "error_description": "The access token provided is invalid"})
        return Response(body, status=401, content_type="application/json")(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.port}", server


FORGED = {
    "wrong_token": lambda n: _raw(urlencode({"event": "ONUSERUPDATE", "ts": str(n), "auth[member_id]": MEMBER_ID,
                                             "auth[application_token]": f"guess{n}"}).encode()),
    "unknown_portal": lambda n: _raw(urlencode({"event": "ONUSERUPDATE", "auth[member_id]": f"m{n:031d}",
                                                "auth[application_token]": APP_TOKEN}).encode()),
    "forged_update": lambda n: _raw(urlencode({"event": "ONAPPUPDATE", "data[VERSION]": "9",
                                               "auth[member_id]": MEMBER_ID, "auth[application_token]": f"new{n}",
                                               "auth[access_token]": f"stolen{n}"}).encode()),
    "too_many_fields": lambda n: _raw(b"&".join([b"a[]=1"] * 6000)),
    "deep_json": lambda n: _raw(b'{"a":' * 3000 + b"1" + b"}" * 3000, "application/json"),
    "nul_byte": lambda n: _raw(b"event=ONUSERUPDATE&data[X]=%00&auth[member_id]=" + MEMBER_ID.encode()),
    "oversized": lambda n: _raw(b"", length=2 * 1024 * 1024),
}


def _raw(body: bytes, content_type: str = "application/x-www-form-urlencoded", length: int | None = None) -> bytes:
    head = (f"POST /b24/events HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n\r\n")
    return head.encode() + body


def _attacker_process(port: int, stop, out: multiprocessing.Queue) -> None:  # type: ignore[no-untyped-def]
    """Send forged calls of every kind, round robin, until told to stop; report the statuses seen."""
    statuses: dict[str, int] = {}
    kinds = list(FORGED.items())
    sock, buffer, n = socket.create_connection(("127.0.0.1", port)), bytearray(), 0
    while not stop.is_set():
        kind, forge = kinds[n % len(kinds)]
        n += 1
        try:
            sock.sendall(forge(n))
            status, _ = _read_response(sock, buffer)
        except OSError:
            status = 0
        if status in (0, 413):  # a body announced and never sent: the connection is spent
            sock.close()
            sock, buffer = socket.create_connection(("127.0.0.1", port)), bytearray()
        key = f"{kind} {status}"
        statuses[key] = statuses.get(key, 0) + 1
    out.put(statuses)


def _load(port: int, first: int, args: argparse.Namespace) -> dict:
    """The genuine clients' run: events per second and latencies of calls answered "accepted"."""
    per_client = args.events // args.clients
    queue: multiprocessing.Queue = multiprocessing.Queue()
    started = time.perf_counter()
    clients = [multiprocessing.Process(target=_client_process,
                                       args=(port, first + i * per_client, per_client, args.threads, queue))
               for i in range(args.clients)]
    for client in clients:
        client.start()
    reports = [queue.get() for _ in clients]
    wall = time.perf_counter() - started
    for client in clients:
        client.join()
    latencies = sorted(x for r in reports for x in r["latencies"])
    accepted = sum(r["accepted"] for r in reports)
    return {"events_per_s": round(accepted / wall, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "accepted": accepted, "errors": sum(r["errors"] for r in reports), "wall_s": round(wall, 2)}


def _serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    _wait_ready(port)
    return server


def _cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) the gunicorn workers of ``server`` have used so far (Linux /proc)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _measured(server: subprocess.Popen, port: int, first: int, args: argparse.Namespace) -> dict:
    """``_load`` and the workers' CPU time per accepted call (``server_cpu_ms``): what the machine's
    noise does not change much, next to throughput, which it does."""
    before = _cpu_seconds(server)
    run = _load(port, first, args)
    run["server_cpu_ms"] = round((_cpu_seconds(server) - before) * 1000 / max(run["accepted"], 1), 3)
    return run


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(30)


def _under_attack(port: int, args: argparse.Namespace, first: int) -> tuple[dict, dict[str, int]]:
    stop = multiprocessing.Event()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    attackers = [multiprocessing.Process(target=_attacker_process, args=(port, stop, queue))
                 for _ in range(args.attackers)]
    for attacker in attackers:
        attacker.start()
    time.sleep(0.5)  # the flood is on before the first genuine event
    try:
        genuine = _load(port, first, args)
    finally:
        stop.set()
        forged: dict[str, int] = {}
        for _ in attackers:
            for key, count in queue.get().items():
                forged[key] = forged.get(key, 0) + count
        for attacker in attackers:
            attacker.join()
    return genuine, forged


def _stored(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM inbox_items")).scalar_one()


def _median_run(runs: list[dict]) -> dict:
    """The run with the median throughput, and the spread of all runs."""
    ordered = sorted(runs, key=lambda run: run["events_per_s"])
    median = dict(ordered[len(ordered) // 2])
    if len(runs) > 1:
        median["events_per_s_all"] = [run["events_per_s"] for run in runs]
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    parser.add_argument("--under-attack", action="store_true", help="also measure while forged calls flood in")
    parser.add_argument("--attackers", type=int, default=2, help="processes sending forged calls")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the service and the bare endpoint N times")
    args = parser.parse_args()
    portal_url, portal = _refusing_portal()
    runs: dict[str, list] = {"plain": [], "under_attack": [], "bare": [], "forged": []}
    lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        config_path, env = _prepare(Path(tmp), portal_url)
        for round_ in range(args.repeat):  # alternated, so a machine's load changes touch both alike
            lost += _service_round(args, config_path, env, round_, runs)
            runs["bare"].append(_bare_round(args))
    portal.shutdown()
    result: dict = {"plain": _median_run(runs["plain"]), "bare": _median_run(runs["bare"]), "lost": lost}
    result["ratio_to_bare"] = round(result["plain"]["events_per_s"] / result["bare"]["events_per_s"], 3)
    if args.under_attack:
        result["under_attack"] = _median_run(runs["under_attack"])
        result["attack_ratio"] = round(result["under_attack"]["events_per_s"] / result["plain"]["events_per_s"], 3)
        result["forged"] = runs["forged"][-1]
    result.update({"events": args.events, "repeat": args.repeat, "gunicorn_workers": args.workers,
                   "gunicorn_threads": args.server_threads, "connections": args.clients * args.threads,
                   "database": "sqlite", "load_average": [round(x, 2) for x in os.getloadavg()]})
    print(json.dumps(result, ensure_ascii=False))


def _gunicorn(args: argparse.Namespace, port: int) -> list[str]:
    return ["--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--threads", str(args.server_threads)]


def _service_round(args: argparse.Namespace, config_path: Path, env: dict[str, str], round_: int,
                   runs: dict[str, list]) -> int:
    """One plain (and attacked) run of the service; the events it lost."""
    port = _free_port()
    before = _stored(env["DATABASE_URL"])
    server = _serve([sys.executable, "-m", "service.cli", "web", *_gunicorn(args, port)],
                    {**env, "B24APP_CONFIG": str(config_path), "B24APP_LOG_LEVEL": "ERROR"}, port)
    first = round_ * 2 * args.events  # fresh numbers: a repeated event would be a duplicate
    try:
        plain = _measured(server, port, first, args)
        runs["plain"].append(plain)
        accepted = plain["accepted"]
        if args.under_attack:
            attacked, forged = _under_attack(port, args, first + args.events)
            runs["under_attack"].append(attacked)
            runs["forged"].append(forged)
            accepted += attacked["accepted"]
    finally:
        _stop(server)
    return accepted - (_stored(env["DATABASE_URL"]) - before)


def _bare_round(args: argparse.Namespace) -> dict:
    port = _free_port()
    bare = _serve([sys.executable, "-m", "bench.bare_web", *_gunicorn(args, port)], {}, port)
    try:
        return _measured(bare, port, 0, args)
    finally:
        _stop(bare)


if __name__ == "__main__":
    main()
