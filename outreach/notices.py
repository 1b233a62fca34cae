"""Portal notifications that go out once: each is a row (keyed by its cause) before ``im.notify``.

``post`` writes the notices whose key is new; ``deliver`` sends the waiting ones. The notification carries
its key as ``TAG``, and the portal keeps one notification per tag of an app ("When adding a notification
with an existing tag, other notifications will be removed": Bitrix24 REST docs,
api-reference/chats/notifications/im-notify.md), so a send repeated after a crash between ``im.notify`` and
the row's update still leaves the person one notification.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from b24app.bitrix.errors import B24APIError, B24Error, B24RefusedError, is_ambiguous
from b24app.db import Database
from b24app.install_steps import RestCaller
from outreach.models import OutreachNotice

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 10
TAG_PREFIX = "b24app|"


@dataclass(frozen=True)
class Notice:
    key: str
    user_id: int
    kind: str
    message: str


def post(db: Database, member_id: str, notices: Iterable[Notice], now: datetime) -> int:
    """Write the notices whose key the portal has not had yet; returns how many were new."""
    notices = list({notice.key: notice for notice in notices}.values())
    if not notices:
        return 0
    with db.write_lock, db.session() as session:
        known = set(session.scalars(select(OutreachNotice.key).where(
            OutreachNotice.member_id == member_id, OutreachNotice.key.in_([n.key for n in notices]))))
        fresh = [n for n in notices if n.key not in known]
        session.add_all(OutreachNotice(member_id=member_id, key=n.key, user_id=n.user_id, kind=n.kind,
                                       message=n.message, status=PENDING, attempts=0, created_at=now)
                        for n in fresh)
    return len(fresh)


def deliver(db: Database, client: RestCaller, member_id: str, now: datetime) -> int:
    """im.notify every waiting notice of the portal; returns how many the portal took."""
    with db.read_session() as session:
        waiting = list(session.scalars(select(OutreachNotice).where(
            OutreachNotice.member_id == member_id, OutreachNotice.status == PENDING).order_by(OutreachNotice.id)))
    return sum(_send(db, client, notice, now) for notice in waiting)


def _send(db: Database, client: RestCaller, notice: OutreachNotice, now: datetime) -> bool:
    status, error = SENT, None
    try:
        client.call("im.notify", {"USER_ID": notice.user_id, "TYPE": "SYSTEM", "MESSAGE": notice.message,
                                  "TAG": TAG_PREFIX + notice.key})
    except B24APIError as exc:
        if isinstance(exc, B24RefusedError) or is_ambiguous(exc):
            status, error = PENDING, f"Битрикс24 временно не принял уведомление: {exc.code}"
        else:
            status, error = FAILED, f"Битрикс24 отказал: {exc.code} {exc.description}".strip()
    except B24Error as exc:
        status, error = PENDING, f"Битрикс24 недоступен: {type(exc).__name__}"
    with db.write_lock, db.session() as session:
        row = session.get(OutreachNotice, notice.id)
        if row is None or row.status != PENDING:
            return False
        row.attempts += 1
        row.status = FAILED if status == PENDING and row.attempts >= MAX_ATTEMPTS else status
        row.error, row.sent_at = error, now if status == SENT else None
    if error:
        log.warning("outreach: notice %s to user %s: %s", notice.key, notice.user_id, error)
    return status == SENT


def notices_of(db: Database, member_id: str | None = None) -> list[OutreachNotice]:
    """Every notice (of one portal), oldest first: for the CLI and tests."""
    query = select(OutreachNotice).order_by(OutreachNotice.id)
    if member_id is not None:
        query = query.where(OutreachNotice.member_id == member_id)
    with db.read_session() as session:
        return list(session.scalars(query))
