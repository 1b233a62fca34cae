"""Tables of the 1C -> Bitrix24 sync: mapping, bookmarks, the 1C replica, runs and per-record problems.

Every table holds the state of one portal per ``member_id`` (``b24app.portal.portal_key``: '' in webhook
mode); a run's problem records belong to its run's portal.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from b24app.db import Base, UTCDateTime
from b24app.models import utcnow


class SyncMapping(Base):
    """One 1C key <-> one Bitrix24 id, with what was last pushed.

    ``b24_id`` is NULL while a create is in flight: a rerun reconciles such rows by the natural
    key (user XML_ID, group marker) before sending the create again.
    """

    __tablename__ = "sync_mappings"
    __table_args__ = (UniqueConstraint("member_id", "kind", "key", name="uq_sync_mapping_portal_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # group | user | userfield
    key: Mapped[str] = mapped_column(String(64))  # 1C ref (department, person) or field name
    b24_id: Mapped[int | None] = mapped_column(Integer)
    state_hash: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(Text, default="{}")  # JSON: groups, active, moderators
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SyncBookmark(Base):
    """What a stream saw in its last successful run (JSON)."""

    __tablename__ = "sync_bookmarks"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SyncReplica(Base):
    """The kept 1C records of one stream, or the change-feed position (sync_jobs.replica); encrypted."""

    __tablename__ = "sync_replica"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    """One run of the sync: when, how it ended, what it did (counts as JSON)."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_portal", "member_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|ok|partial|failed|refused
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[str] = mapped_column(Text, default="{}")
    message: Mapped[str | None] = mapped_column(Text)


class SyncRunRecord(Base):
    """A record a run could not push (error) or left out on purpose (e.g. «нет e-mail»)."""

    __tablename__ = "sync_run_records"
    __table_args__ = (Index("ix_sync_run_records_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)


class DirectorySite(Base):
    """A client site as the last successful run saw it: the 1C department, its legal entity, the group's name."""

    __tablename__ = "sync_directory_sites"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    department_name: Mapped[str] = mapped_column(String(255))
    legal_entity_ref: Mapped[str] = mapped_column(String(64))
    legal_entity_name: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(32))


class DirectoryPerson(Base):
    """A person with at least one active, onboarded employment; e-mail and phone only encrypted, no СНИЛС or ИНН."""

    __tablename__ = "sync_directory_people"

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[str] = mapped_column(String(255))
    personnel_numbers: Mapped[str] = mapped_column(String(255))
    email_known: Mapped[bool] = mapped_column(Boolean)
    departments: Mapped[str] = mapped_column(Text)  # JSON list of department refs
    contacts: Mapped[str] = mapped_column(Text)  # JSON {"email", "mobile"} from 1C, encrypted with the token key
    digest: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DirectoryPlacement(Base):
    """Person works at site: the index behind "the people of a site"."""

    __tablename__ = "sync_directory_placements"
    __table_args__ = (Index("ix_sync_directory_placements_person", "member_id", "person_ref"),)

    member_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
