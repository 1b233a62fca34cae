"""Core tables: portal installations, the durable inbox, job locks."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from b24app.db import Base, UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PortalInstallation(Base):
    """One Bitrix24 portal that installed the app; tokens are encrypted at rest."""

    __tablename__ = "portal_installations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str] = mapped_column(String(255))
    client_endpoint: Mapped[str] = mapped_column(String(255))
    server_endpoint: Mapped[str | None] = mapped_column(String(255))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refresh_lease_holder: Mapped[str | None] = mapped_column(String(64))
    tokens_broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the pair stopped working
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # `b24app portals pause`: calls wait
    application_token_digest: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text, default="")
    admin_user_id: Mapped[int | None] = mapped_column(Integer)
    app_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="installing")
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class InboxItem(Base):
    """A verified call from Bitrix24 waiting for (or done by) the worker.

    ``dedupe_key`` makes redelivered calls a no-op; secrets are stripped from ``payload``.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("member_id", "dedupe_key", name="uq_inbox_dedupe"),
        Index("ix_inbox_ready", "status", "next_attempt_at"),
        Index("ix_inbox_member_status", "member_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # event | activity
    name: Mapped[str] = mapped_column(String(128))  # event name or activity code
    dedupe_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|processing|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_holder: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # confirmed on the broker (celery engine)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobLock(Base):
    """A named lease so a job never overlaps itself across processes and machines."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
