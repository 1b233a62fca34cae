"""A worker process of the service plus one test feature whose handler the kill test counts (run as a script)."""
from __future__ import annotations

import os
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from b24app.app import build_app
from b24app.config import load_config
from b24app.dispatch import HandlerContext, event
from b24app.features import Feature
from b24app.worker import get_executor
from service import FEATURES


def record_effect(ctx: HandlerContext, session: Session) -> None:
    """Slow on purpose so the test can kill the process while items are in flight."""
    time.sleep(0.02)
    session.execute(text("INSERT INTO kill_effects (item_id, pid) VALUES (:item, :pid)"),
                    {"item": ctx.message.id, "pid": os.getpid()})


KILL_TEST = Feature(name="kill_test", title="Проверка остановки обработчика",
                    inbox_handlers={event("ONKILLTEST"): record_effect})


if __name__ == "__main__":
    features = (*FEATURES, KILL_TEST)
    app = build_app(load_config(os.environ["B24APP_CONFIG"], features=features), features)
    get_executor(app).run_forever()
