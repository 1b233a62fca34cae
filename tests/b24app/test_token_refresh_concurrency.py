"""Eight threads and two processes meet an expired token: exactly one refresh happens."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from b24app.portal import client_for, get_store
from tests.support import EmulatedInstall

CALLER = """
import os, sys, time
from pathlib import Path
from service import create_app
from b24app.portal import client_for
app = create_app()
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
print(client_for(app).call("profile", {}).result["ID"])
"""


@pytest.fixture
def setup(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    installed = EmulatedInstall(tmp_path, database_url)
    installed.install()
    installed.drain()
    yield installed
    installed.stop()


def test_eight_threads_and_two_processes_refresh_once(setup: EmulatedInstall, tmp_path: Path) -> None:
    go = tmp_path / "go"
    env = {**os.environ, **setup.env, "B24APP_CONFIG": str(setup.config_path)}
    processes = [subprocess.Popen([sys.executable, "-c", CALLER, str(go)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    before = get_store(setup.app).find(member_id=setup.member_id)
    setup.hook("tokens/expire", {})
    barrier = threading.Barrier(8)
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait()
            results.append(str(client_for(setup.app).call("profile", {}).result["ID"]))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    time.sleep(1.0)  # let both processes build their app and wait for the go signal
    go.touch()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outputs = [p.communicate(timeout=60) for p in processes]
    assert not errors, errors
    assert results == ["1"] * 8
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
        assert out.strip() == "1"
    after = get_store(setup.app).find(member_id=setup.member_id)
    assert after.token_generation == before.token_generation + 1
