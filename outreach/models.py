"""Tables of outreach: the outbox of every message (written before the send), opt-outs, bounces; and for the
approvals: absences of approvers, the portal notifications sent once, the approval tasks and requests watched.

Every table is one portal's: ``member_id`` (``b24app.portal.portal_key``; '' in webhook mode) is part of each
key. An opt-out and a bounce, too, are facts one staffing company knows about its people: another
portal's company neither learns them nor is bound by them.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from b24app.db import Base, UTCDateTime

# Message states: pending → sending → sent → delivered | undelivered; or failed (with the reason),
# unknown (accepted or not cannot be told, never resent automatically), skipped (a rule held it).
PENDING, SENDING, SENT, FAILED, UNKNOWN = "pending", "sending", "sent", "failed", "unknown"
GONE_OUT = ("sending", "sent", "delivered", "undelivered", "unknown")  # counts against the rules


class OutreachMessage(Base):
    """One message; ``id`` is our message id, the key the send is idempotent by."""

    __tablename__ = "outreach_messages"
    __table_args__ = (UniqueConstraint("member_id", "key", name="uq_outreach_message_key"),
                      Index("ix_outreach_due", "status", "not_before"),
                      Index("ix_outreach_person", "person_ref", "created_at"),
                      Index("ix_outreach_portal", "portal_message_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))  # the portal whose message it is
    key: Mapped[str] = mapped_column(String(200))  # what caused it: no second row (of the portal) for one cause
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

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-case e-mail or E.164
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(64), default="")


class OutreachBounce(Base):
    """An e-mail address a mail server refused (our SMTP send, or entered by the provider manager)."""

    __tablename__ = "outreach_bounces"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutreachAbsence(Base):
    """An approver away from ``date_from`` to ``date_to`` (inclusive), and who stands in for them.

    ``source`` is "manual" (the provider manager, ``b24app outreach absence add``) or the request that told
    it ("vacation:<element id>", "business_trip:<element id>"): one row per request.
    """

    __tablename__ = "outreach_absences"
    __table_args__ = (UniqueConstraint("member_id", "source", name="uq_outreach_absence_source"),
                      Index("ix_outreach_absence_user", "member_id", "user_id", "date_to"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(Integer)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    substitute_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Notice states: pending (written, not yet accepted by the portal) → sent, or failed (the portal refused it).
class OutreachNotice(Base):
    """A portal notification (im.notify) for one cause, keyed so that it goes out once."""

    __tablename__ = "outreach_notices"
    __table_args__ = (UniqueConstraint("member_id", "key", name="uq_outreach_notice_key"),
                      Index("ix_outreach_notice_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(160))   # the cause, e.g. "task:12:7:reminder"; also the im.notify TAG
    user_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))   # new_task | reminder | escalation | absence | delegated | status
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutreachApprovalTask(Base):
    """A waiting approval task of one approver, as the watcher first saw it."""

    __tablename__ = "outreach_approval_tasks"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(Text, default="")
    document_name: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutreachRequestState(Base):
    """The last status of one request (a list element of an HR process) the watcher saw."""

    __tablename__ = "outreach_request_states"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    element_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutreachRequestScan(Base):
    """Per process: the highest element id read; its absence means the first scan (a silent baseline)."""

    __tablename__ = "outreach_request_scans"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_element_id: Mapped[int] = mapped_column(Integer, default=0)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
