"""One process of the benchmark and test cluster: ``python -m bench.cluster_node web|worker|scheduler``.

The service's own processes (gunicorn web, celery worker, scheduler) with one more feature whose
handler calls the portal (through the shared limits) and records its effect, so the tests can count
how often each accepted call was processed.
"""
from __future__ import annotations

import os
import sys

from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from b24app.app import build_app
from b24app.config import load_config
from b24app.dispatch import HandlerContext, event
from b24app.features import Feature
from b24app.portal import client_for
from service import FEATURES

EFFECTS_TABLE = "cluster_effects"
PROBE_EVENT = "ONCLUSTERPROBE"


def record_effect(ctx: HandlerContext, session: Session) -> None:
    """A call to the call's portal, then the effect, in the transaction that marks the item done."""
    with client_for(ctx.app, ctx.message.member_id) as client:
        client.call("app.info")
    session.execute(text(f"INSERT INTO {EFFECTS_TABLE} (item_id, member_id, pid) VALUES (:item, :member, :pid)"),
                    {"item": ctx.message.id, "member": ctx.message.member_id, "pid": os.getpid()})


PROBE = Feature(name="cluster_probe", title="Проверка кластера", inbox_handlers={event(PROBE_EVENT): record_effect})
NODE_FEATURES = (*FEATURES, PROBE)


def make_app() -> Flask:
    return build_app(load_config(os.environ["B24APP_CONFIG"], features=NODE_FEATURES), NODE_FEATURES)


def main(role: str, *args: str) -> None:
    if role == "web":
        from service.gunicorn_app import GunicornApp, metrics_folder

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_folder()
        GunicornApp(bind=args[0], workers=int(args[1]), threads=4, factory=make_app).run()
    elif role == "worker":
        from b24app.engine.worker import run_worker

        run_worker(make_app(), concurrency=int(args[0]), pool="threads", loglevel="WARNING")
    elif role == "scheduler":
        from b24app.engine.scheduler import build

        build(make_app(), blocking=True, holder=f"scheduler-{os.getpid()}").start()
    else:
        raise SystemExit(f"unknown role {role}")


if __name__ == "__main__":
    main(*sys.argv[1:])
