"""``b24app worker --engine celery``: a Celery worker consuming every portal's queue and the jobs queue.

At start it subscribes to the queues of the installed portals; a portal installed later is added
by a broadcast from the web process that first publishes for it, and by the sweeper. SIGTERM is
Celery's warm shutdown: tasks in flight finish, prefetched ones go back to their queue (late
acknowledgement); SIGKILL loses nothing either — unacknowledged tasks return to the broker.
"""
from __future__ import annotations

import os
import socket

from flask import Flask

from b24app.engine.celery_app import get_celery
from b24app.engine.queues import JOBS, portal_queue
from b24app.portal import get_store


def run_worker(app: Flask, *, concurrency: int, pool: str, loglevel: str = "INFO") -> None:
    celery = get_celery(app)
    portals = [portal_queue(i.member_id) for i in get_store(app).all() if i.status != "uninstalled"]
    celery.conf.task_queues = (JOBS, *portals)
    celery.worker_main(["worker", "--pool", pool, "--concurrency", str(concurrency), "--loglevel", loglevel,
                        "--hostname", f"b24app-{os.getpid()}@{socket.gethostname()}", "--without-gossip",
                        "--without-mingle", "--queues", ",".join(q.name for q in celery.conf.task_queues)])
