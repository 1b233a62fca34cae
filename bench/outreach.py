"""Outreach benchmark: planning 50,000 people, and 10,000 SMS through a rate-limited local gateway
with the sender killed (SIGKILL) and restarted midway.

    python -m bench.outreach [--people 50000] [--messages 10000] [--rate 400] [--kill-at 0.5]

Prints one JSON object. ``planning``: ``people``, ``plan_s`` (who needs reaching), ``compose_s``
(rules + templates into drafts), ``ratio_to_bound`` = (plan_s + compose_s) / 5 s. ``sending``: the
gateway (emulators/sms, SMSC.ru API) refuses requests over ``gateway_rate_per_s`` (HTTP 429, counted
as ``rate_limited``); the sender paces at ``sender_rate_per_s``. ``lost`` = outbox rows not accepted
by the gateway, ``duplicated`` = our ids the gateway accepted more than once, ``killed_after`` = how
many the gateway held when the first sender got SIGKILL, ``ratio_to_rate_bound`` = the time a sender
at exactly the gateway's rate would need divided by the measured wall time.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import requests

PLAN_BOUND_S = 5.0
NOW = datetime(2026, 12, 31, 9, 0, tzinfo=timezone.utc)


def people(count: int, seed: int = 1):  # type: ignore[no-untyped-def]
    """A staffing company's people: a third without e-mail, a fifth never accepted, some bounced."""
    from outreach.planner import Employee, PortalAccount

    rng = random.Random(seed)
    employees, accounts = [], {}
    for n in range(count):
        roll = rng.random()
        email = None if roll < 0.3 else f"person{n}@example.ru"
        user_id = None if email is None else 1000 + n
        employees.append(Employee(f"ref-{n:06d}", f"Сотрудник {n} Иванович", f"Сотрудник {n}", email,
                                  f"+7916{n:07d}", f"Участок {n % 400}", f"ООО Юрлицо {n % 3}",
                                  rng.choice(["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok", None]),
                                  user_id))
        if user_id is not None:
            accounts[user_id] = PortalAccount(user_id, True, None if roll < 0.6 else NOW, roll < 0.5)
    bounced = {f"person{n}@example.ru" for n in range(0, count, 50)}
    return employees, accounts, bounced


def bench_planning(count: int) -> dict:
    from outreach.campaign import compose
    from outreach.planner import plan
    from outreach.settings import load_settings

    employees, accounts, bounced = people(count)
    settings = load_settings({"company": "ООО «Кадры»", "portal_url": "https://kadry.bitrix24.ru"}, {})
    started = time.perf_counter()
    targets = plan(employees, accounts, bounced)
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    drafts, held = compose(targets, settings, {}, NOW, "")
    compose_s = time.perf_counter() - started
    return {"people": count, "targets": len(targets), "drafts": len(drafts), "held": len(held),
            "plan_s": round(plan_s, 3), "compose_s": round(compose_s, 3), "bound_s": PLAN_BOUND_S,
            "ratio_to_bound": round((plan_s + compose_s) / PLAN_BOUND_S, 3)}


def _migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    root = Path(__file__).resolve().parents[1]
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(root / "b24app" / "migrations"))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("version_locations",
                        f"{root / 'b24app' / 'migrations' / 'versions'} {root / 'outreach' / 'migrations'}")
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "heads")


def run_sender(url: str, gateway_url: str, rate: float) -> None:
    """The sender process: send until nothing is pending or in flight (leases of a killed sender pass)."""
    from sqlalchemy import func, select

    from b24app.db import Database
    from outreach.gateways import SmscGateway
    from outreach.models import PENDING, SENDING, OutreachMessage
    from outreach.outbox import Channels, Sender
    from outreach.service import SystemClock
    from outreach.settings import OutreachSettings, Rules

    db = Database(url)
    settings = OutreachSettings(rules=Rules(quiet_start=datetime.min.time(), quiet_end=datetime.min.time()))
    gateway = SmscGateway("smsc", gateway_url, "test", "secret", "B24APP", timeout_s=5)
    sender = Sender(db, settings, Channels(gateways=[gateway], rates={"smsc": rate}), SystemClock(), portal="",
                    lease_s=2.0, batch=100)
    while True:
        sender.run_until_idle()
        with db.read_session() as session:
            left = session.scalar(select(func.count()).select_from(OutreachMessage).where(
                OutreachMessage.status.in_((PENDING, SENDING))))
        if not left:
            return
        time.sleep(0.2)


def bench_sending(count: int, rate: float, kill_at: float) -> dict:
    from sqlalchemy import func, select

    from b24app.db import Database
    from emulators.sms import serve
    from outreach.models import OutreachMessage
    from outreach.outbox import Draft, enqueue

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    gateways = serve(port=0, rate_per_s=rate)
    requests.post(gateways.url + "/_emulator/config", json={"balance": "1000000000"}, timeout=10).raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix="bench-outreach-"))
    url = f"sqlite:///{workdir / 'outreach.sqlite3'}"
    _migrate(url)
    db = Database(url)
    enqueue(db, [Draft(key=f"bench:{n}", kind="invitation", channel="sms", address=f"+7916{n:07d}",
                       body=f"Кабинет сотрудника: https://kadry.bitrix24.ru (сообщение {n})", person_ref=f"ref-{n}")
                 for n in range(count)], datetime.now(timezone.utc))
    sender_rate = rate * 0.8
    command = [sys.executable, "-m", "bench.outreach", "--sender", url, gateways.url + "/smsc", str(sender_rate)]
    started = time.perf_counter()
    first = subprocess.Popen(command)
    killed_after = _wait_for(gateways.url, int(count * kill_at), first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = subprocess.run(command, check=True)
    wall_s = time.perf_counter() - started
    accepted = requests.get(gateways.url + "/_emulator/messages", timeout=30).json()
    counters = requests.get(gateways.url + "/_emulator/counters", timeout=30).json()
    with db.read_session() as session:
        ids = {str(i) for i in session.scalars(select(OutreachMessage.id))}
        statuses = dict(session.execute(select(OutreachMessage.status, func.count())
                                        .group_by(OutreachMessage.status)).all())
    taken = Counter(m["our_id"] for m in accepted)
    gateways.stop()
    db.dispose()
    return {"messages": count, "gateway_rate_per_s": rate, "sender_rate_per_s": sender_rate,
            "killed_after": killed_after, "restart_exit_code": second.returncode, "wall_s": round(wall_s, 2),
            "statuses": statuses, "lost": len(ids - set(taken)), "duplicated": sum(1 for n in taken.values() if n > 1),
            "rate_limited": counters["rate_limited"], "requests": counters["requests"],
            "ratio_to_rate_bound": round((count / rate) / wall_s, 3)}


def _wait_for(gateway_url: str, accepted: int, process: subprocess.Popen) -> int:
    while process.poll() is None:
        held = requests.get(gateway_url + "/_emulator/counters", timeout=10).json()["messages"]
        if held >= accepted:
            return held
        time.sleep(0.05)
    raise RuntimeError("the sender ended before it could be killed")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sender":
        run_sender(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=400.0, help="the gateway's limit, requests per second")
    parser.add_argument("--kill-at", type=float, default=0.5)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    result = {"planning": bench_planning(args.people), "sending": bench_sending(args.messages, args.rate, args.kill_at)}
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
