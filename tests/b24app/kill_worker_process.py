"""A worker process with one extra handler whose effect the kill test counts (run as a script)."""
from __future__ import annotations

import os
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from handlers.registry import HandlerContext, on_event


@on_event("ONKILLTEST")
def record_effect(ctx: HandlerContext, session: Session) -> None:
    """Slow on purpose so the test can kill the process while items are in flight."""
    time.sleep(0.02)
    session.execute(text("INSERT INTO kill_effects (item_id, pid) VALUES (:item, :pid)"),
                    {"item": ctx.message.id, "pid": os.getpid()})


if __name__ == "__main__":
    from b24app.cli import main

    main()
