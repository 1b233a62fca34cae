"""``b24app web``: the Flask app under gunicorn, configured from code."""
from __future__ import annotations

import gc

from gunicorn.app.base import BaseApplication


class GunicornApp(BaseApplication):
    """Gunicorn with ``create_app()`` built in each worker process."""

    def __init__(self, *, bind: str, workers: int, threads: int = 1) -> None:
        self.options = {"bind": bind, "workers": workers, "threads": threads,
                        "worker_class": "gthread", "accesslog": None, "timeout": 60}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from service import create_app

        app = create_app()
        gc.freeze()  # the app's long-lived objects leave the collector's scans: shorter GC pauses per request
        return app
