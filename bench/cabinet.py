"""Server time of the cabinet's pages for a client manager with many people on one site, as JSON.

    python -m bench.cabinet [--people 2000] [--requests 30]

Builds the app on a fresh SQLite database with a directory of ``--people`` people on one site
(the cabinet's ``Directory`` interface, held in memory), issues the client manager's frame session
token and asks the pages' endpoints through Flask's test client (no network): ``/me`` and
``/sites/<id>`` (the people list). ``median_ms``/``p95_ms`` are per endpoint; ``ratio_to_bound`` =
median / 300 ms (≤ 1.0 meets the goal of the issue). The portal's approvals card is a separate
request to Bitrix24 and is not part of this page's server time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from service import create_app, upgrade_schema
from b24app.frames import get_sessions
from b24app.verify import Viewer
from cabinet import data
from cabinet.sources import Employment, Person, Site, SiteManagers
from tests.support import write_config

BOUND_MS = 300.0
GROUP_ID, MANAGER = 10, 7


class MemoryDirectory:
    """``--people`` people on one site, one manager on each side."""

    def __init__(self, people: int) -> None:
        self.site_ = Site(GROUP_ID, "ООО Кадры — Склад Подольск", "dept-1", "org-1", "ООО Кадры", "Склад Подольск")
        self.people = [Person(f"person-{n}", f"Фамилия{n:05d} Имя Отчество", 1000 + n, (Employment(
            "org-1", "ООО Кадры", "dept-1", "Склад Подольск", GROUP_ID, "Комплектовщик", f"КР-{n:07d}"),))
            for n in range(people)]

    def person_of_user(self, user_id: int) -> Person | None:
        return None

    def sites(self) -> list[Site]:
        return [self.site_]

    def site(self, group_id: int) -> Site | None:
        return self.site_ if group_id == GROUP_ID else None

    def people_of_site(self, site: Site) -> list[Person]:
        return self.people if site == self.site_ else []

    def managers_of(self, department_ref: str) -> SiteManagers:
        return SiteManagers((MANAGER,), (8,)) if department_ref == self.site_.department_ref else SiteManagers()


def timed(client: Any, path: str, token: str, count: int) -> dict[str, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.status_code
    ordered = sorted(times)
    median = statistics.median(ordered)
    return {"median_ms": round(median, 2), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "ratio_to_bound": round(median / BOUND_MS, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cabinet-"))
    url = f"sqlite:///{folder / 'b24app.sqlite3'}"
    upgrade_schema(url)
    config, _ = write_config(folder, public_url="http://127.0.0.1:5000", database_url=url)
    app = create_app(config)
    app.extensions[data.DIRECTORY_KEY] = MemoryDirectory(args.people)
    token = get_sessions(app).issue(Viewer("bench-member", MANAGER, False, "Клара Клиентова"))
    client = app.test_client()
    client.get("/cabinet/api/me", headers={"Authorization": f"Bearer {token}"})  # warm up imports
    result = {"people": args.people, "requests": args.requests, "bound_ms": BOUND_MS,
              "me": timed(client, "/cabinet/api/me", token, args.requests),
              "site_people": timed(client, f"/cabinet/api/sites/{GROUP_ID}", token, args.requests)}
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
