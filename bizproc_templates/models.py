"""Tables of the business-process installer and of the app-activity answers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from b24app.db import Base, UTCDateTime
from b24app.models import utcnow


class InstalledObject(Base):
    """One object the installer put on a portal (list, field, template, activity) and its content hash."""

    __tablename__ = "bizproc_installed_objects"
    __table_args__ = (UniqueConstraint("member_id", "kind", "code", name="uq_bizproc_installed_object"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # list | field | template | activity
    code: Mapped[str] = mapped_column(String(128))  # process code, "<process>.<FIELD>" or activity code
    b24_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)  # 1 on create, +1 on every update
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ActivityAnswer(Base):
    """The one answer of an app-activity call, committed before bizproc.event.send and resent until delivered."""

    __tablename__ = "bizproc_activity_answers"
    __table_args__ = (UniqueConstraint("member_id", "token_digest", name="uq_bizproc_activity_answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    token_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the event_token
    code: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="sending")  # sending | sent | refused
    outcome: Mapped[str] = mapped_column(String(16))  # ok | error
    answer: Mapped[str] = mapped_column(Text, default="")  # JSON: RETURN_VALUES, LOG_MESSAGE
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
