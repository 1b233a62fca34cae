"""``b24app web``: the Flask app under gunicorn, configured from code."""
from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable

from flask import Flask
from gunicorn.app.base import BaseApplication

WORKER_TIMEOUT_S = 30  # a worker silent this long (stuck) is killed and replaced
GRACEFUL_TIMEOUT_S = 20  # on shutdown, requests in flight get this long to finish


def metrics_folder() -> str:
    """An empty folder for prometheus_client's per-process files (multiprocess mode), one per web process."""
    folder = os.path.join(tempfile.gettempdir(), f"b24app-metrics-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def _child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    """A dead worker's live gauges leave the sum (prometheus_client multiprocess mode)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _service() -> Flask:
    from service import create_app

    return create_app()


class GunicornApp(BaseApplication):
    """Gunicorn with the app built by ``factory`` in each worker process (the service by default)."""

    def __init__(self, *, bind: str, workers: int, threads: int = 1,
                 factory: Callable[[], Flask] = _service) -> None:
        self.options = {"bind": bind, "workers": workers, "threads": threads, "worker_class": "gthread",
                        "accesslog": None, "timeout": WORKER_TIMEOUT_S, "graceful_timeout": GRACEFUL_TIMEOUT_S,
                        "child_exit": _child_exit}
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        app = self.factory()
        gc.freeze()  # the app's long-lived objects leave the collector's scans: shorter GC pauses per request
        return app
