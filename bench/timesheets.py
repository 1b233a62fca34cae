"""Timesheets at the size of a big client site, as JSON.

    python -m bench.timesheets [--employees 2000] [--t13-employees 2500] [--edits 400] [--time-scale 50]

One SQLite database holds a site of ``--employees`` people × 31 days (December 2026) and a second
site of ``--t13-employees`` people (4 rows each in the T-13: 2,500 people = 10,000 rows). Phases:

- ``summary``: the site's summary read from the database and rendered to HTML (server time, the best
  and the worst of 5 runs); bound 1 s.
- ``t13``: the second site's T-13 written to XLSX in memory, database read included; bound 5 s.
- ``cell_save``: ``--edits`` single-cell saves one after another, each its own transaction as a page
  request makes it (row lock, version check, audit row, commit); p50 and p99; bound 50 ms at p99.
- ``bulk_approval``: the whole first site through both approvals on the Bitrix24 emulator (standard
  plan, clock ``--time-scale`` times faster), in waves of ``--wave`` timesheets: submitted, workflows
  started (elements and ``bizproc.workflow.start`` in batches), the client manager's tasks listed and
  completed in batches of 50 with the manager's own token, then the provider manager's, then the
  outcomes read back. Waves, because the emulator runs one thread per workflow and wakes every one of
  them on each change: 2,000 workflows waiting at once saturate a 2-core machine (a real portal keeps
  no thread per workflow). ``rejected_503``/``rejected_429`` are the emulator's counters (0 = within
  the portal's limits); ``bound_s`` is the least time the plan allows for the requests made (the first
  ``burst`` at once, then ``requests_per_s``).

``ratio`` = measured / bound: at most 1.0 meets the issue's bound. For the approval, ``ratio_to_bound``
= bound_s / wall_s as in bench.b24_client (1.0 = as fast as Bitrix24 allows). The machine is shared:
look at ``load_avg`` before comparing numbers.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import insert, select, update

from b24app.bitrix import B24Client, RateLimits
from b24app.db import Database
from bizproc_templates.installer import Installer
from bizproc_templates.source import PROCESSES_DIR, load_process
from emulators.bitrix24 import serve
from service import upgrade_schema
from timesheets.approval import (Approvers, CompletionReport, Decision, ProcessList, complete_tasks, open_tasks,
                                 process_list, start_workflows, submit, sync_outcomes)
from timesheets.calendar import ProductionCalendar, month_dates
from timesheets.exports.t13 import t13_of_department
from timesheets.models import Timesheet, TimesheetDay
from timesheets.prefill import prefill_month
from timesheets.schedules import FIVE_TWO
from timesheets.sheets import CellEdit, edit_cells
from timesheets.summaries import load_summary, render_summary

PERIOD = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.timezone.utc)
SITE, T13_SITE, GROUP_ID = "site-a", "site-b", 77
BOUNDS = {"summary_s": 1.0, "t13_s": 5.0, "cell_save_p99_ms": 50.0}
EDIT_VALUES = ("Я 8", "Я 7", "Б", "Я/Н 6/2", "В", "К", "ОТ", "Я 11")


def seed(db: Database, department: str, people: int, first_number: int) -> list[int]:
    """``people`` prefilled 5/2 timesheets of one site, inserted in bulk (of the webhook's portal, '')."""
    values = prefill_month(PERIOD, FIVE_TWO, ProductionCalendar())
    sheets = [{"member_id": "", "period_start": PERIOD, "person_ref": f"person-{n}", "employee_ref": f"employee-{n}",
               "user_id": None, "department_ref": department, "site_name": f"Площадка {department}",
               "group_id": GROUP_ID if department == SITE else None, "legal_entity_ref": "org-1",
               "legal_entity_name": "ООО «Кадровое агентство»", "client_key": department,
               "employee_name": f"Сотрудник {n:05d} Иванович", "personnel_number": f"{n:06d}",
               "position": "Комплектовщик", "status": "draft", "revision": 0, "created_at": NOW, "updated_at": NOW}
              for n in range(first_number, first_number + people)]
    with db.session() as session:
        session.execute(insert(Timesheet), sheets)
        ids = list(session.scalars(select(Timesheet.id).where(Timesheet.department_ref == department)
                                   .order_by(Timesheet.id)))
        days = []
        for ts_id in ids:
            for day, value in enumerate(values, start=1):
                code, minutes, code2, minutes2 = value.as_columns()
                days.append({"timesheet_id": ts_id, "day": day, "code": code, "minutes": minutes, "code2": code2,
                             "minutes2": minutes2, "planned": value.text, "version": 1})
        session.execute(insert(TimesheetDay), days)
    return ids


def checkpoint(db: Database) -> None:
    """The seed's WAL is written back now, so no timed cell save pays for it (outside any transaction)."""
    connection = db.engine.raw_connection()
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def bench_summary(db: Database, runs: int = 5) -> dict[str, Any]:
    times, cpu_times, size = [], [], 0
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        with db.read_session() as session:
            html = render_summary(load_summary(session, "", "Площадка", PERIOD, [SITE]))
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu)
        size = len(html)
    return {"best_s": round(min(times), 3), "worst_s": round(max(times), 3),
            "best_cpu_s": round(min(cpu_times), 3), "html_bytes": size,
            "bound_s": BOUNDS["summary_s"], "ratio": round(min(times) / BOUNDS["summary_s"], 3)}


def bench_t13(db: Database) -> dict[str, Any]:
    out = io.BytesIO()
    started, cpu = time.perf_counter(), time.process_time()
    with db.read_session() as session:
        employees = t13_of_department(session, "", T13_SITE, PERIOD, out, NOW.date())
    seconds = time.perf_counter() - started
    return {"employees": employees, "employee_rows": employees * 4, "seconds": round(seconds, 3),
            "cpu_s": round(time.process_time() - cpu, 3),
            "xlsx_bytes": len(out.getvalue()), "bound_s": BOUNDS["t13_s"],
            "ratio": round(seconds / BOUNDS["t13_s"], 3)}


def bench_cell_saves(db: Database, ids: list[int], edits: int) -> dict[str, Any]:
    rng = random.Random(7)
    versions: dict[tuple[int, int], int] = {}
    days = len(month_dates(PERIOD))
    latencies = []
    for number in range(edits):
        key = (rng.choice(ids), rng.randint(1, days))
        edit = CellEdit(key[0], key[1], EDIT_VALUES[number % len(EDIT_VALUES)], versions.get(key, 1))
        started = time.perf_counter()
        with db.session() as session:
            [state] = edit_cells(session, [edit], actor=5, now=NOW)
        latencies.append((time.perf_counter() - started) * 1000)
        versions[key] = state.version
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {"edits": edits, "p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2),
            "max_ms": round(ordered[-1], 2), "bound_ms": BOUNDS["cell_save_p99_ms"],
            "ratio": round(p99 / BOUNDS["cell_save_p99_ms"], 3)}


def _hook(url: str, path: str, body: Any = None, method: str = "POST") -> Any:
    response = requests.request(method, f"{url}/_emulator/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json() if response.content else None


class ActingUserTokens:
    """Tokens of one user from the emulator's "act as user" hook; a fresh one when the portal says expired
    (the emulator's access tokens live an hour of its clock, a minute or so of ours at a high time scale)."""

    def __init__(self, url: str, client_id: str, user_id: int) -> None:
        self.url, self.client_id, self.user_id = url, client_id, user_id
        self.token = self._issue()

    def _issue(self) -> str:
        return str(_hook(self.url, "tokens", {"client_id": self.client_id, "user_id": self.user_id})["access_token"])

    def current(self) -> str:
        return self.token

    def refresh(self, stale_token: str) -> str:
        if stale_token == self.token:
            self.token = self._issue()
        return self.token


def _client(url: str, client_id: str, user_id: int, limits: RateLimits) -> B24Client:
    return B24Client(f"{url}/rest/", tokens=ActingUserTokens(url, client_id, user_id), plan_limits=limits)


def _wait(probe: Any, what: str, timeout_s: float = 600) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(what)


def request_bound_s(requests_made: int, limits: RateLimits) -> float:
    return max(0.0, requests_made - limits.burst) / limits.requests_per_s


@dataclass
class Totals:
    """What the timed parts of the approval cost, added up over the waves."""

    wall_s: float = 0.0
    requests: int = 0
    rejected_503: int = 0
    rejected_429: int = 0
    done: int = 0
    failed: int = 0

    def add(self, url: str, wall_s: float, completed: CompletionReport) -> None:
        counters = _hook(url, "counters", method="GET")
        self.wall_s += wall_s
        self.requests += counters["requests"]
        self.rejected_503 += counters["rejected_503"]
        self.rejected_429 += counters["rejected_429"]
        self.done += len(completed.done)
        self.failed += len(completed.failed)

    def report(self, limits: RateLimits) -> dict[str, Any]:
        bound = request_bound_s(self.requests, limits)
        return {"completed": self.done, "failed": self.failed, "wall_s": round(self.wall_s, 2),
                "rest_requests": self.requests, "rejected_503": self.rejected_503, "rejected_429": self.rejected_429,
                "bound_s": round(bound, 2), "ratio_to_bound": round(bound / self.wall_s, 3) if self.wall_s else None}


def _open_task_count(url: str, user_id: int) -> int:
    return sum(1 for t in _hook(url, "bizproc/tasks", method="GET")["tasks"]
               if t["STATUS"] == 0 and str(user_id) in {str(u) for u in t["USERS"]})


def _decide_all(url: str, admin: B24Client, assignee: B24Client, db: Database, target: ProcessList,
                user_id: int, expected: int, totals: Totals) -> None:
    """Wait for the user's tasks, then list and complete them all, timed from the listing."""
    _wait(lambda: _open_task_count(url, user_id) >= expected, f"{expected} tasks of user {user_id}")
    _hook(url, "counters/reset")
    started = time.perf_counter()
    tasks = open_tasks(admin, db, target, user_id, group_id=GROUP_ID)
    completed = complete_tasks(assignee, [Decision(task.task_id, True) for task in tasks])
    totals.add(url, time.perf_counter() - started, completed)


def bench_bulk_approval(db: Database, ids: list[int], time_scale: float, wave: int) -> dict[str, Any]:
    """Both sides approve the whole site in the app; the site is submitted in waves of ``wave`` timesheets
    because the emulator runs one thread per workflow and wakes all of them on every change."""
    portal = serve(port=0, plan="standard", time_scale=time_scale)
    try:
        url, limits = portal.url, RateLimits().scaled(time_scale)
        app = _hook(url, "apps", {"handler_url": "https://b24app.example.org/b24/app",
                                  "install_url": "https://b24app.example.org/b24/install",
                                  "scopes": ["bizproc", "lists", "user", "im"]})
        manager = int(_hook(url, "users", {"NAME": "Клара", "LAST_NAME": "Клиентова", "EMAIL": "c@example.org"})["ID"])
        provider = int(_hook(url, "users", {"NAME": "Пётр", "LAST_NAME": "Провайдеров", "EMAIL": "p@example.org"})["ID"])
        admin = _client(url, app["client_id"], 1, limits)
        Installer(admin, db, member_id=portal.member_id, client_id=app["client_id"],
                  public_url="https://b24app.example.org",
                  processes=[load_process(PROCESSES_DIR / "timesheet_approval.yaml")], activities={}).install()
        target = process_list(admin, db, portal.member_id)
        with db.session() as session:  # the seeded site becomes this portal's: the run approves its timesheets
            session.execute(update(Timesheet).where(Timesheet.id.in_(ids)).values(member_id=portal.member_id))
        approvers = lambda timesheet: Approvers((manager,), (provider,))  # noqa: E731
        clients = {user: _client(url, app["client_id"], user, limits) for user in (manager, provider)}
        start, client_side, provider_side = Totals(), Totals(), Totals()
        sync_s = 0.0
        for first in range(0, len(ids), wave):
            chunk = ids[first:first + wave]
            submit(db, chunk, actor=None, now=NOW, approvers_of=approvers)
            _hook(url, "counters/reset")
            started = time.perf_counter()
            report = start_workflows(admin, db, target, approvers, NOW)
            start.add(url, time.perf_counter() - started, CompletionReport(done=report.started,
                                                                           failed=dict(report.waiting)))
            _decide_all(url, admin, clients[manager], db, target, manager, len(chunk), client_side)
            _decide_all(url, admin, clients[provider], db, target, provider, len(chunk), provider_side)
            started = time.perf_counter()
            _wait(lambda: _approved(db, chunk, admin, target, approvers), "the wave's outcomes")
            sync_s += time.perf_counter() - started
        return {"timesheets": len(ids), "wave": wave, "time_scale": time_scale, "start": start.report(limits),
                "client_approval": client_side.report(limits), "provider_approval": provider_side.report(limits),
                "outcomes_sync_s": round(sync_s, 2)}
    finally:
        portal.stop()


def _approved(db: Database, chunk: list[int], admin: B24Client, target: ProcessList, approvers: Any) -> bool:
    sync_outcomes(admin, db, target, approvers, NOW, timesheet_ids=chunk)
    with db.read_session() as session:
        statuses = set(session.scalars(select(Timesheet.status).where(Timesheet.id.in_(chunk))))
    return statuses == {"approved_by_provider"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--t13-employees", type=int, default=2500)
    parser.add_argument("--edits", type=int, default=400)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--wave", type=int, default=250, help="timesheets submitted at once in the approval phase")
    parser.add_argument("--skip-approval", action="store_true", help="only the database phases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade_schema(url)
        db = Database(url)
        try:
            ids = seed(db, SITE, args.employees, 1)
            seed(db, T13_SITE, args.t13_employees, args.employees + 1)
            checkpoint(db)
            result: dict[str, Any] = {"employees": args.employees, "days": len(month_dates(PERIOD)),
                                      "load_avg": [round(v, 2) for v in os.getloadavg()]}
            result["summary"] = bench_summary(db)
            result["t13"] = bench_t13(db)
            result["cell_save"] = bench_cell_saves(db, ids, args.edits)
            if not args.skip_approval:
                result["bulk_approval"] = bench_bulk_approval(db, ids, args.time_scale, args.wave)
        finally:
            db.dispose()
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
