"""Benchmark: full and delta read of a generated ZUP, through the B24Sync feed (SOAP) or OData.

``python -m bench.onec_read --employees 50000`` starts the 1C emulator in a separate process
(so its memory is not counted), runs a full read (snapshot bookmark + every kind, employees with
their HR data), applies ``--mutate`` % realistic changes and runs a delta read. Prints one JSON
object ``{"mode": ..., "full": {...}, "delta": {...}}``; requests are counted by the emulator.
Goals: full <= 60 s, peak RSS <= 250 MB, delta requests <= 5 % of full.

The default mode is ``soap``: the version-numbered change feed of the b24sync extension is the
delta path for large companies (docs/onec-extension.md). ``--mode odata`` measures the standard
interface, which has no change tracking: its delta costs key scans plus one request per
``key_batch`` changed objects, so it cannot reach 5 % at 1 % changes (bench/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click
import psutil
import requests

from onec.factory import build_source
from onec.source import ZupSource

PASSWORD_ENV = "BENCH_ONEC_PASSWORD"

EMULATOR_SCRIPT = """
import json, sys
from emulators.onec import serve
zup = serve(port=0, generate=sys.argv[1], seed=int(sys.argv[2]))
print(json.dumps({"odata_url": zup.odata_url, "wsdl_url": zup.wsdl_url, "login": zup.login,
                  "password": zup.password}), flush=True)
sys.stdin.read()
zup.stop()
"""


@dataclass
class Emulator:
    """A 1C emulator running in a child process."""

    process: subprocess.Popen[str]
    odata_url: str
    wsdl_url: str
    login: str
    password: str

    @property
    def base(self) -> str:
        """Scheme, host and port (for the /_emulator hooks)."""
        return self.odata_url.split("/zup/", 1)[0]

    def hook(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, f"{self.base}/_emulator/{path}", json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def requests_served(self) -> int:
        return int(self.hook("GET", "counters")["requests"])


@contextmanager
def running_emulator(generate: str, seed: int) -> Iterator[Emulator]:
    """Start the emulator process, yield its URLs, stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-c", EMULATOR_SCRIPT, generate, str(seed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        yield Emulator(process, info["odata_url"], info["wsdl_url"], info["login"], info["password"])
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


class PeakRss:
    """Samples this process's RSS in a background thread; ``peak_mb`` after ``stop``."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._process = psutil.Process()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


def measure(emulator: Emulator, work: Callable[[], tuple[int, int]]) -> dict[str, Any]:
    """Run ``work`` (returns employees and records handled) and report time, memory and requests."""
    before = emulator.requests_served()
    with PeakRss() as rss:
        start = time.perf_counter()
        employees, records = work()
        wall = time.perf_counter() - start
    return {
        "employees": employees,
        "records": records,
        "wall_s": round(wall, 2),
        "records_per_s": round(records / wall, 1) if wall else None,
        "peak_rss_mb": rss.peak_mb,
        "requests": emulator.requests_served() - before,  # the hooks themselves are not counted
    }


def full_read(source: ZupSource, bookmark: dict[str, Any]) -> tuple[int, int]:
    """Snapshot bookmark, then stream every kind; returns (employees, records)."""
    bookmark.update(source.snapshot())
    counts = {name: sum(1 for _ in getattr(source, name)()) for name in
              ("legal_entities", "departments", "positions", "persons", "employees", "employments")}
    return counts["employees"], sum(counts.values())


def delta_read(source: ZupSource, bookmark: dict[str, Any]) -> tuple[int, int]:
    """Changes since the bookmark (all packages); returns (changed employees, changed records)."""
    changed: set[str] = set()
    records, complete = 0, False
    while not complete:
        changes = source.changes(bookmark)
        changed |= {e.ref for e in changes.upserts["employees"]}
        changed |= {s.employee_ref for s in changes.upserts["employments"]}
        records += changes.count()
        bookmark, complete = changes.bookmark, changes.complete
    return len(changed), records


@click.command()
@click.option("--employees", default=50000, show_default=True)
@click.option("--orgs", default=5, show_default=True)
@click.option("--departments", default=800, show_default=True)
@click.option("--mutate", "percent", default=1.0, show_default=True, help="Percent of changes before the delta.")
@click.option("--seed", default=1, show_default=True)
@click.option("--mode", type=click.Choice(["soap", "odata"]), default="soap", show_default=True)
@click.option("--page-size", default=1000, show_default=True)
@click.option("--scan-page-size", default=10000, show_default=True)
def main(employees: int, orgs: int, departments: int, percent: float, seed: int, mode: str, page_size: int,
         scan_page_size: int) -> None:
    """Print {"full": {...}, "delta": {...}} for a generated company."""
    generate = f"employees={employees},orgs={orgs},departments={departments}"
    with running_emulator(generate, seed) as emulator:
        os.environ[PASSWORD_ENV] = emulator.password
        source = build_source({
            "name": "bench", "mode": mode, "url": emulator.odata_url if mode == "odata" else emulator.wsdl_url,
            "login": emulator.login,
            "password_env": PASSWORD_ENV,
            "paging": {"page_size": page_size, "scan_page_size": scan_page_size},
        })
        bookmark: dict[str, Any] = {}
        full = measure(emulator, lambda: full_read(source, bookmark))
        mutation = emulator.hook("POST", "mutate", {"percent": percent, "seed": seed + 1})
        delta = measure(emulator, lambda: delta_read(source, bookmark))
        source.close()
    delta["request_share_of_full"] = round(delta["requests"] / full["requests"], 4)
    delta["mutation"] = mutation
    click.echo(json.dumps({"mode": mode, "full": full, "delta": delta}, ensure_ascii=False))


if __name__ == "__main__":
    main()
