"""Server time of the cabinet's pages for a client manager with many people on one site, as JSON.

    python -m bench.cabinet [--people 2000] [--requests 30] [--time-scale 100]

Starts the 1C:ZUP emulator with one legal entity and one department of at least ``--people`` working
employees (``people_on_site`` says how many exactly) and the Bitrix24 emulator (its clock
``--time-scale`` times faster), builds the app on SQLite (webhook mode) and runs the first sync, so
the pages read the directory the sync published. Then it issues the client
manager's frame session token and asks the pages' endpoints through Flask's test client (no
network): ``/me`` (roles) and ``/sites/<id>`` (the people list). ``median_ms``/``p95_ms`` per
endpoint; ``ratio_to_bound`` = median / 300 ms (≤ 1.0 meets the goal of the issue). The approvals
card is its own request to Bitrix24 and the managers' contacts are kept for 5 minutes after the first
read, so neither is part of this figure (the warm-up request reads them).
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml
from flask import Flask

from b24app.config import generate_token_key
from b24app.frames import get_sessions
from b24app.verify import Viewer
from cabinet import data
from emulators.bitrix24 import serve as serve_bitrix24
from emulators.onec import serve as serve_onec
from service import create_app, load_config, upgrade_schema
from sync_jobs import run_sync

BOUND_MS = 300.0
ONEC_PASSWORD_ENV = "BENCH_CABINET_ONEC_PASSWORD"
HIRED_PER_WORKING = 2.1


def timed(client: Any, path: str, token: str, count: int) -> dict[str, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: HTTP {answer.status_code}")
    ordered = sorted(times)
    median = statistics.median(ordered)
    return {"median_ms": round(median, 2), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "ratio_to_bound": round(median / BOUND_MS, 3)}


def app_with_one_site(folder: Path, people: int, time_scale: float) -> tuple[Flask, list[Any]]:
    """Both emulators, the app (webhook mode: the pages read no frame tokens here) and one full sync
    of at least ``people`` working employees on one site."""
    # about half of the generated employment records end in a dismissal: generate enough for ``people`` at work
    zup = serve_onec(generate=f"employees={int(people * HIRED_PER_WORKING)},orgs=1,departments=1", seed=11)
    portal = serve_bitrix24(time_scale=time_scale)
    manager = requests.post(f"{portal.url}/_emulator/users", timeout=30,
                            json={"NAME": "Клара", "LAST_NAME": "Клиентова", "EMAIL": "client@example.ru"}).json()
    url = f"sqlite:///{folder / 'b24app.sqlite3'}"
    upgrade_schema(url)
    data_ = {"mode": "webhook", "app": {"public_url": "http://127.0.0.1:5000"},
             "bitrix24": {"time_scale": time_scale},
             "onec": {"connections": [{"name": "zup", "mode": "soap", "url": zup.wsdl_url, "login": zup.login,
                                       "password_env": ONEC_PASSWORD_ENV}]},
             "sync": {"managers": {"default": {"client": [int(manager["ID"])], "provider": [1]}}}}
    path = folder / "app.yaml"
    path.write_text(yaml.safe_dump(data_, allow_unicode=True), encoding="utf-8")
    app = create_app(load_config(path, env={"B24_WEBHOOK_URL": portal.webhook_url, ONEC_PASSWORD_ENV: zup.password,
                                            "SECRET_KEY": "bench", "B24APP_TOKEN_KEY": generate_token_key(),
                                            "DATABASE_URL": url}))
    summary = run_sync(app, full=True)
    if summary.status not in ("ok", "partial"):
        raise SystemExit(summary.render())
    return app, [portal, zup]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--time-scale", type=float, default=100.0)
    args = parser.parse_args()
    app, emulators = app_with_one_site(Path(tempfile.mkdtemp(prefix="bench-cabinet-")), args.people, args.time_scale)
    try:
        site = data.directory(app).sites()[0]
        on_site = len(data.directory(app).people_of_site(site))
        manager = data.directory(app).managers_of(site.department_ref).client[0]
        token = get_sessions(app).issue(Viewer("bench", manager, False, "Клара Клиентова"))
        client = app.test_client()
        client.get(f"/cabinet/api/sites/{site.group_id}", headers={"Authorization": f"Bearer {token}"})  # warm up
        result = {"people_on_site": on_site, "requests": args.requests, "bound_ms": BOUND_MS,
                  "me": timed(client, "/cabinet/api/me", token, args.requests),
                  "site_people": timed(client, f"/cabinet/api/sites/{site.group_id}", token, args.requests)}
    finally:
        for running in emulators:
            running.stop()
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
