"""Kill the worker mid-processing: after a restart every accepted event is processed, none twice."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from b24app import inbox
from b24app.db import get_db
from tests.support import EmulatedInstall, python_path

WORKER = str(Path(__file__).with_name("kill_worker_process.py"))
EVENTS = 150


@pytest.fixture
def setup(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    installed = EmulatedInstall(tmp_path, database_url)
    installed.install()
    installed.drain()
    with get_db(installed.app).engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS kill_effects"))
        conn.execute(sa.text("CREATE TABLE kill_effects (item_id INTEGER NOT NULL, pid INTEGER NOT NULL)"))
    yield installed
    with get_db(installed.app).engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS kill_effects"))
    installed.stop()


def _send(setup: EmulatedInstall, token: str, n: int) -> str:
    form = {"event": "ONKILLTEST", "data[N]": str(n), "ts": str(n), "auth[member_id]": setup.member_id,
            "auth[application_token]": token}
    return requests.post(f"{setup.public_url}/b24/events", data=form, timeout=30).json()["result"]


def _start_worker(setup: EmulatedInstall) -> subprocess.Popen:
    env = {**os.environ, **setup.env, "B24APP_CONFIG": str(setup.config_path), "PYTHONPATH": python_path(os.getcwd())}
    return subprocess.Popen([sys.executable, WORKER], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_killed_worker_loses_nothing_and_repeats_nothing(setup: EmulatedInstall) -> None:
    token = setup.application_token()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: _send(setup, token, n), range(EVENTS)))
    assert answers.count("accepted") == EVENTS
    rng = random.Random(7)
    for _ in range(3):
        worker = _start_worker(setup)
        time.sleep(rng.uniform(0.8, 1.6))
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    final = _start_worker(setup)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            items = [i for i in inbox.list_items(get_db(setup.app), limit=1000) if i.name == "ONKILLTEST"]
            if len(items) == EVENTS and all(i.status == "done" for i in items):
                break
            time.sleep(0.3)
    finally:
        final.send_signal(signal.SIGTERM)
        final.wait(10)
    items = [i for i in inbox.list_items(get_db(setup.app), limit=1000) if i.name == "ONKILLTEST"]
    assert sorted(i.status for i in items) == ["done"] * EVENTS
    with get_db(setup.app).engine.connect() as conn:
        effects = [row[0] for row in conn.execute(sa.text("SELECT item_id FROM kill_effects"))]
    assert sorted(effects) == sorted(i.id for i in items)  # each exactly once
