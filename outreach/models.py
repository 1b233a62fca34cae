"""Tables of outreach: the outbox of every message (written before the send), opt-outs, bounces."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from b24app.db import Base, UTCDateTime

# Message states: pending → sending → sent → delivered | undelivered; or failed (with the reason),
# unknown (accepted or not cannot be told, never resent automatically), skipped (a rule held it).
PENDING, SENDING, SENT, FAILED, UNKNOWN = "pending", "sending", "sent", "failed", "unknown"
GONE_OUT = ("sending", "sent", "delivered", "undelivered", "unknown")  # counts against the rules


class OutreachMessage(Base):
    """One message; ``id`` is our message id, the key the send is idempotent by."""

    __tablename__ = "outreach_messages"
    __table_args__ = (Index("ix_outreach_due", "status", "not_before"),
                      Index("ix_outreach_person", "person_ref", "created_at"),
                      Index("ix_outreach_portal", "portal_message_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # what caused it: no second row for one cause
    person_ref: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))             # template kind: invitation, portal_sms, …
    reason: Mapped[str | None] = mapped_column(String(32))    # planner reason code
    channel: Mapped[str] = mapped_column(String(8))           # email | sms
    address: Mapped[str] = mapped_column(String(320))         # e-mail or E.164 phone (never logged)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    gateway: Mapped[str | None] = mapped_column(String(64))   # the gateway (or "smtp") of the last try
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # rounds tried
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    replaces_id: Mapped[int | None] = mapped_column(Integer)  # the failed message this one stands in for
    fallback_address: Mapped[str | None] = mapped_column(String(320))  # the other channel, if allowed
    fallback_subject: Mapped[str] = mapped_column(String(300), default="")
    fallback_body: Mapped[str] = mapped_column(Text, default="")
    portal_code: Mapped[str | None] = mapped_column(String(64))        # messageservice provider CODE
    portal_message_id: Mapped[str | None] = mapped_column(String(64))  # the portal's message_id
    portal_status: Mapped[str | None] = mapped_column(String(16))      # last status reported to the portal


class OutreachOptOut(Base):
    """A person or an address that asked not to be written to."""

    __tablename__ = "outreach_opt_outs"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-case e-mail or E.164
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(64), default="")


class OutreachBounce(Base):
    """An e-mail address a mail server refused (our SMTP send, or entered by the provider manager)."""

    __tablename__ = "outreach_bounces"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
