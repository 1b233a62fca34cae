"""A real cluster on this machine: Bitrix24 emulator processes, gunicorn web, Celery workers, the
scheduler, RabbitMQ (a fresh virtual host), Redis and PostgreSQL (a fresh schema).

Used by ``bench.cluster`` and ``tests/cluster``. Every process is started here and stopped by its
own pid; the virtual host, the schema and the Redis keys are removed at the end.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import redis
import requests
import sqlalchemy as sa
import yaml
from sqlalchemy.pool import NullPool

from b24app.config import generate_token_key

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RABBIT = "amqp://guest:guest@127.0.0.1:5672"
REDIS_URL = "redis://127.0.0.1:6379/0"
CLIENT_ID, CLIENT_SECRET = "local.cluster.1", "cluster-secret"
SCOPES = ["bizproc", "lists", "user", "department", "sonet_group", "im", "disk", "placement"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _b24app() -> str:
    return str(Path(sys.executable).with_name("b24app"))


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass
class Portal:
    url: str
    member_id: str
    process: subprocess.Popen
    application_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    tokens: dict[str, Any] = field(default_factory=dict)

    def hook(self, path: str, body: Any = None, method: str = "POST") -> Any:
        response = requests.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()


class Cluster:
    """``with Cluster(workdir, portals=3) as cluster:`` — everything up; everything gone afterwards."""

    def __init__(self, workdir: Path, *, portals: int = 3, time_scale: float = 20.0, web_workers: int = 2,
                 celery_workers: int = 3, concurrency: int = 4, portals_in_config: bool = True,
                 portal_sections: dict[int, dict[str, Any]] | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.portal_count = portals
        self.time_scale = time_scale
        self.web_workers = web_workers
        self.celery_workers = celery_workers
        self.concurrency = concurrency
        self.portals_in_config = portals_in_config
        self.portal_sections = portal_sections or {}  # portal index -> its own app.yaml sections
        self.extra_env = env or {}
        self.run_id = uuid.uuid4().hex[:10]
        self.vhost = f"b24app-test-{self.run_id}"
        self.schema = f"cluster_{self.run_id}"
        self.portals: list[Portal] = []
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.scheduler: subprocess.Popen | None = None
        self.port = free_port()
        self.public_url = f"http://127.0.0.1:{self.port}"
        self.env: dict[str, str] = {}
        self.engine: sa.Engine | None = None
        self.reader: sa.Engine | None = None  # the cluster's schema, a connection per use (NullPool)

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        _rabbitmqctl("add_vhost", self.vhost)
        _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        database_url = self._schema()
        self.portals = [self._start_portal(seed) for seed in range(1, self.portal_count + 1)]
        self._write_config(database_url)
        self._seed_installations()
        self.start_web()
        for _ in range(self.celery_workers):
            self.start_worker()
        self.scheduler = self._spawn("scheduler")
        self._wait_healthy()

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler, self.web]:
            _stop(process)
        for portal in self.portals:
            _stop(portal.process)
        if self.reader is not None:
            self.reader.dispose()
        if self.engine is not None:
            with self.engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.engine.dispose()
        link = redis.Redis.from_url(REDIS_URL)
        for portal in self.portals:
            for key in link.scan_iter(f"b24app:limits:{{{portal.member_id}}}:*"):
                link.delete(key)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.vhost], capture_output=True, timeout=60)

    # -- processes -------------------------------------------------------------------------------

    def _spawn(self, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{args[0]}-{time.monotonic_ns()}.log", "wb")
        return subprocess.Popen([sys.executable, "-m", "bench.cluster_node", *args], cwd=ROOT,
                                env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)}, stdout=log,
                                stderr=subprocess.STDOUT)

    def start_web(self) -> None:
        self.web = self._spawn("web", f"127.0.0.1:{self.port}", str(self.web_workers))

    def start_worker(self) -> subprocess.Popen:
        worker = self._spawn("worker", str(self.concurrency))
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        """Warm shutdown of every Celery worker (tasks in flight finish, prefetched ones go back)."""
        while self.workers:
            _stop(self.workers.pop())

    def web_processes(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        assert self.web is not None
        return [child.pid for child in psutil.Process(self.web.pid).children()]

    def kill_web_process(self) -> None:
        os.kill(self.web_processes()[0], signal.SIGKILL)

    def kill_worker(self) -> None:
        worker = self.workers.pop(0)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    def close_broker_connections(self) -> None:
        """Every connection of the cluster to RabbitMQ is closed by the broker, mid-work."""
        _rabbitmqctl("close_all_connections", "-p", self.vhost, "test: broker connection lost")

    def _wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.public_url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError("the web processes did not come up")

    # -- portals, database, configuration --------------------------------------------------------

    def _start_portal(self, seed: int) -> Portal:
        port = free_port()
        log = open(self.workdir / f"portal-{seed}.log", "wb")
        process = subprocess.Popen([_b24app(), "emulate", "bitrix24", "--port", str(port), "--seed", str(seed),
                                    "--oauth-port", "0", "--time-scale", str(self.time_scale)], cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"portal emulator {seed} exited: {(self.workdir / f'portal-{seed}.log').read_text()}")
            try:
                requests.get(f"{url}/_emulator/counters", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.2)
        portal = Portal(url, "", process)
        portal.hook("apps", {"handler_url": f"{self.public_url}/b24/app", "install_url": f"{self.public_url}/b24/install",
                             "scopes": SCOPES, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
        portal.hook(f"apps/{CLIENT_ID}/install-finish")
        portal.tokens = portal.hook("tokens", {"client_id": CLIENT_ID, "user_id": 1})
        portal.member_id = portal.tokens["member_id"]
        return portal

    def _schema(self) -> str:
        self.engine = sa.create_engine(POSTGRES_URL)
        with self.engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        separator = "&" if "?" in POSTGRES_URL else "?"
        return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{self.schema}"

    def _write_config(self, database_url: str) -> None:
        from bench.cluster_node import EFFECTS_TABLE

        data: dict[str, Any] = {
            "mode": "app", "app": {"public_url": self.public_url, "version": 1,
                                   "oauth_token_url": f"{self.portals[0].url}/oauth/token/"},
            "bitrix24": {"time_scale": self.time_scale},
            "worker": {"lease_s": 5},
            "cluster": {"engine": "celery", "sweep_interval_s": 1, "republish_after_s": 2, "fallback_share": 4,
                        "job_lease_s": 6},
        }
        if self.portals_in_config:
            data["portals"] = {p.member_id: {"title": f"Портал {i + 1}", "oauth_token_url": f"{p.url}/oauth/token/",
                                             **self.portal_sections.get(i, {})}
                               for i, p in enumerate(self.portals)}
        path = self.workdir / "app.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        self.env = {"B24_CLIENT_ID": CLIENT_ID, "B24_CLIENT_SECRET": CLIENT_SECRET,
                    "B24APP_TOKEN_KEY": generate_token_key(), "SECRET_KEY": "cluster", "DATABASE_URL": database_url,
                    "B24APP_BROKER_URL": f"{RABBIT}/{self.vhost}", "B24APP_REDIS_URL": REDIS_URL,
                    "B24APP_CONFIG": str(path), "B24APP_LOG_LEVEL": "WARNING", **self.extra_env}
        from service import upgrade_schema

        upgrade_schema(database_url)
        self.reader = sa.create_engine(database_url, poolclass=NullPool)
        with self.reader.begin() as connection:
            connection.execute(sa.text(f"CREATE TABLE {EFFECTS_TABLE} (item_id BIGINT NOT NULL, "
                                       "member_id VARCHAR(64) NOT NULL, pid INTEGER NOT NULL)"))
        self.database_url = database_url

    def app(self):  # type: ignore[no-untyped-def]
        """The service's app as the cluster's processes build it (for reading the database)."""
        old = dict(os.environ)
        os.environ.update(self.env)
        try:
            from bench.cluster_node import make_app

            return make_app()
        finally:
            os.environ.clear()
            os.environ.update(old)

    def _seed_installations(self) -> None:
        """Each portal's installation as the install flow stores it (tokens the portal issued)."""
        from b24app.db import get_db
        from b24app.models import utcnow
        from b24app.portal import get_store
        from b24app.store import NewInstallation, TokenSet

        app = self.app()
        for portal in self.portals:
            tokens = portal.tokens
            get_store(app).save(NewInstallation(
                member_id=portal.member_id, domain=portal.url.removeprefix("http://"),
                client_endpoint=f"{portal.url}/rest/", server_endpoint=f"{portal.url}/rest/",
                tokens=TokenSet(tokens["access_token"], tokens["refresh_token"],
                                utcnow() + timedelta(seconds=float(tokens.get("expires_in", 3600)))),
                application_token=portal.application_token, scopes=tuple(SCOPES), admin_user_id=1, app_version=1))
        get_db(app).dispose()
        link = redis.Redis.from_url(REDIS_URL)
        for portal in self.portals:
            for key in link.scan_iter(f"b24app:limits:{{{portal.member_id}}}:*"):
                link.delete(key)

    # -- traffic ---------------------------------------------------------------------------------

    def send_event(self, portal: Portal, n: int, *, session: requests.Session | None = None,
                   attempts: int = 50) -> str:
        """POST one probe event until the service answers (a killed web process drops the connection);
        "accepted" or "duplicate" — both mean the call is in the inbox."""
        from bench.cluster_node import PROBE_EVENT

        form = {"event": PROBE_EVENT, "data[N]": str(n), "ts": str(n), "auth[member_id]": portal.member_id,
                "auth[application_token]": portal.application_token}
        http = session or requests
        for _ in range(attempts):
            try:
                response = http.post(f"{self.public_url}/b24/events", data=form, timeout=30)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return response.json()["result"]
            time.sleep(0.1)
        raise AssertionError(f"event {n} never accepted")

    def send_events(self, plan: list[tuple[Portal, int]], *, threads: int = 8) -> list[str]:
        def one(item: tuple[Portal, int]) -> str:
            return self.send_event(*item)

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, plan))

    def probe_state(self) -> tuple[dict[str, int], list[int]]:
        """Inbox statuses of the probe events, and the item ids of every recorded effect."""
        from bench.cluster_node import EFFECTS_TABLE, PROBE_EVENT

        with self.connect() as connection:
            statuses = dict(connection.execute(sa.text(
                "SELECT status, count(*) FROM inbox_items WHERE name = :name GROUP BY status"),
                {"name": PROBE_EVENT}).all())
            effects = [row[0] for row in connection.execute(sa.text(f"SELECT item_id FROM {EFFECTS_TABLE}"))]
        return statuses, effects

    def connect(self) -> sa.Connection:
        """A connection to the cluster's schema, closed when the caller is done (no pool left behind)."""
        assert self.reader is not None, "the cluster is started"
        return self.reader.connect()

    def wait_processed(self, expected: int, timeout_s: float = 180) -> tuple[dict[str, int], list[int]]:
        deadline = time.monotonic() + timeout_s
        statuses, effects = self.probe_state()
        while time.monotonic() < deadline:
            statuses, effects = self.probe_state()
            if statuses.get("done", 0) >= expected and len(effects) >= expected:
                break
            time.sleep(0.5)
        return statuses, effects


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
