"""Per-portal installation store keyed by ``member_id`` (slack_sdk's installation store shape).

Tokens are encrypted with :class:`~b24app.crypto.TokenCipher`; the application_token is kept
only as a digest, since we never send it, only compare it.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from cachetools import TTLCache
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from b24app.crypto import TokenCipher, digest_matches, secret_digest
from b24app.db import Base, Database
from b24app.models import InboxItem, PortalInstallation, utcnow

DIGEST_CACHE_S = 2.0
DIGEST_CACHE_SIZE = 1024  # portals; keyed by a value the request names, so bounded
PAUSED_CACHE_S = 1.0
_CLEANED_APART = (InboxItem.__tablename__, PortalInstallation.__tablename__)  # uninstall deletes them last


@dataclass(frozen=True)
class TokenSet:
    """An OAuth token pair as Bitrix24 issues it."""

    access_token: str
    refresh_token: str
    expires_at: datetime

    @classmethod
    def from_oauth(cls, data: dict, *, now: datetime | None = None) -> TokenSet:
        """Build from an OAuth response or an event's ``auth`` block (expires_in seconds)."""
        now = now or utcnow()
        expires_in = int(data.get("expires_in") or 3600)
        return cls(str(data["access_token"]), str(data["refresh_token"]), now + timedelta(seconds=expires_in))

    def __repr__(self) -> str:  # never print tokens
        return f"TokenSet(expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class Installation:
    """A decrypted snapshot of one portal's installation."""

    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str | None
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None
    token_generation: int
    scopes: tuple[str, ...]
    admin_user_id: int | None
    app_version: int
    status: str
    installed_at: datetime
    tokens_broken_at: datetime | None = None  # the OAuth server refused the stored pair; an admin restores it
    paused_at: datetime | None = None  # paused by the operator: calls are kept, not processed; jobs skip it

    def __repr__(self) -> str:
        return (f"Installation(member_id={self.member_id!r}, domain={self.domain!r}, "
                f"status={self.status!r}, version={self.app_version})")


@dataclass(frozen=True)
class NewInstallation:
    """What the install POST (or ONAPPINSTALL) tells us about a portal."""

    member_id: str
    domain: str
    client_endpoint: str
    server_endpoint: str | None
    tokens: TokenSet
    application_token: str | None
    scopes: tuple[str, ...]
    admin_user_id: int | None
    app_version: int


class InstallationStore:
    """Reads and writes :class:`PortalInstallation` rows."""

    def __init__(self, db: Database, cipher: TokenCipher) -> None:
        self.db = db
        self.cipher = cipher
        self._digests: TTLCache = TTLCache(maxsize=DIGEST_CACHE_SIZE, ttl=DIGEST_CACHE_S)
        self._digests_lock = threading.Lock()
        self._paused: TTLCache = TTLCache(maxsize=1, ttl=PAUSED_CACHE_S)

    @contextmanager
    def _use(self, session: Session | None) -> Iterator[Session]:
        """The caller's session (committed by the caller) or a new one committed here."""
        if session is not None:
            yield session
            return
        with self.db.session() as own:
            yield own

    def find(self, *, member_id: str) -> Installation | None:
        with self.db.read_session() as session:
            row = session.scalar(select(PortalInstallation).where(PortalInstallation.member_id == member_id))
            return self._snapshot(row) if row else None

    def all(self) -> list[Installation]:
        with self.db.read_session() as session:
            rows = session.scalars(select(PortalInstallation).order_by(PortalInstallation.id))
            return [self._snapshot(row) for row in rows]

    def save(self, new: NewInstallation, *, status: str = "installed") -> Installation:
        """Insert or replace the installation of ``new.member_id`` (a reinstall replaces)."""
        self._forget_digest(new.member_id)
        with self.db.session() as session:
            row = session.scalar(select(PortalInstallation).where(PortalInstallation.member_id == new.member_id))
            if row is None:
                row = PortalInstallation(member_id=new.member_id, token_generation=0)
                session.add(row)
            row.domain = new.domain
            row.client_endpoint = new.client_endpoint
            row.server_endpoint = new.server_endpoint
            self._set_tokens(row, new.tokens)
            if new.application_token:
                row.application_token_digest = secret_digest(new.application_token)
            row.scopes = ",".join(new.scopes)
            row.admin_user_id = new.admin_user_id
            row.app_version = new.app_version
            row.status = status
            row.installed_at = utcnow()
            session.flush()
            return self._snapshot(row)

    def set_status(self, *, member_id: str, status: str, session: Session | None = None) -> None:
        with self._use(session) as session:
            session.execute(update(PortalInstallation)
                            .where(PortalInstallation.member_id == member_id).values(status=status))

    def set_application_token(self, *, member_id: str, application_token: str,
                              app_version: int | None = None) -> None:
        self._forget_digest(member_id)
        values: dict = {"application_token_digest": secret_digest(application_token)}
        if app_version is not None:
            values["app_version"] = app_version
        with self.db.session() as session:
            session.execute(update(PortalInstallation)
                            .where(PortalInstallation.member_id == member_id).values(**values))

    def set_paused(self, *, member_id: str, paused: bool) -> bool:
        """Pause (calls are accepted and kept, not processed; jobs skip it) or resume a portal."""
        with self.db.session() as session:
            result = session.execute(update(PortalInstallation).where(PortalInstallation.member_id == member_id)
                                     .values(paused_at=utcnow() if paused else None))
            if not paused:  # its waiting calls go to the broker again (b24app.engine.sweeper)
                session.execute(update(InboxItem).where(InboxItem.member_id == member_id,
                                                        InboxItem.status == "pending").values(enqueued_at=None))
        with self._digests_lock:
            self._paused.clear()
        return result.rowcount == 1

    def paused(self) -> frozenset[str]:
        """member_ids of the paused portals (read at most once a second per process: every task asks)."""
        with self._digests_lock:
            cached = self._paused.get("paused")
        if cached is not None:
            return cached
        with self.db.read_session() as session:
            paused = frozenset(session.scalars(select(PortalInstallation.member_id)
                                               .where(PortalInstallation.paused_at.is_not(None))))
        with self._digests_lock:
            self._paused["paused"] = paused
        return paused

    def application_token_matches(self, *, member_id: str, application_token: str) -> bool:
        """True when the presented token is the stored one of an active installation.

        Every call from Bitrix24 asks this, so it reads through a short, bounded per-process cache of
        installed portals' digests (an unknown member_id is never cached); a mismatch is re-read from
        the database before it counts (a token may just have rotated).
        """
        with self._digests_lock:
            cached = self._digests.get(member_id)
        if digest_matches(application_token, cached):
            return True
        digest = self._read_digest(member_id)
        if digest is not None:
            with self._digests_lock:
                self._digests[member_id] = digest
        return digest_matches(application_token, digest)

    def _forget_digest(self, member_id: str) -> None:
        with self._digests_lock:
            self._digests.pop(member_id, None)

    def _read_digest(self, member_id: str) -> str | None:
        statement = select(PortalInstallation.application_token_digest).where(
            PortalInstallation.member_id == member_id, PortalInstallation.status != "uninstalled")
        with self.db.read_engine.connect() as connection:
            return connection.execute(statement).scalar()

    def uninstall(self, *, member_id: str, clean: bool, session: Session | None = None) -> None:
        """Forget the tokens; with ``clean`` also delete the portal's data: every row of every table keyed
        by ``member_id`` (each feature keeps one portal's state that way; rows hanging off them by a
        foreign key go with them, ON DELETE CASCADE)."""
        self._forget_digest(member_id)
        with self._use(session) as session:
            if clean:
                for table in reversed(Base.metadata.sorted_tables):
                    if "member_id" in table.c and table.name not in _CLEANED_APART:
                        session.execute(table.delete().where(table.c.member_id == member_id))
                # in-flight items (this very uninstall event among them) are left to finish
                session.execute(delete(InboxItem).where(InboxItem.member_id == member_id,
                                                        InboxItem.status != "processing"))
                session.execute(delete(PortalInstallation).where(PortalInstallation.member_id == member_id))
                return
            session.execute(update(PortalInstallation).where(PortalInstallation.member_id == member_id).values(
                status="uninstalled", access_token_enc=None, refresh_token_enc=None, expires_at=None,
                application_token_digest=None))

    # --- token rotation -------------------------------------------------------------------

    def try_acquire_refresh_lease(self, *, member_id: str, holder: str, seconds: float) -> bool:
        """Take the per-portal refresh lease (works across threads, processes and machines)."""
        now = utcnow()
        with self.db.session() as session:
            result = session.execute(
                update(PortalInstallation)
                .where(PortalInstallation.member_id == member_id)
                .where((PortalInstallation.refresh_lease_until.is_(None))
                       | (PortalInstallation.refresh_lease_until < now))
                .values(refresh_lease_until=now + timedelta(seconds=seconds), refresh_lease_holder=holder))
            return result.rowcount == 1

    def release_refresh_lease(self, *, member_id: str, holder: str, tokens: TokenSet | None,
                              expected_generation: int | None = None) -> None:
        """Persist the rotated pair and release the lease, in one transaction.

        A freshly obtained pair is never dropped: it is saved whenever the stored generation is still
        the one it was refreshed from, even if our lease ran out meanwhile (the old refresh token is
        already consumed, so the new pair is the only one that works).
        """
        with self.db.session() as session:
            row = session.scalar(select(PortalInstallation).where(PortalInstallation.member_id == member_id))
            if row is None:
                return
            if tokens is not None and row.token_generation == expected_generation:
                self._set_tokens(row, tokens)
            if row.refresh_lease_holder == holder:
                row.refresh_lease_until = None
                row.refresh_lease_holder = None

    def mark_tokens_broken(self, *, member_id: str) -> None:
        """The OAuth server refused the stored refresh token (rotated by a process that died, or an
        answer lost on the way): calls fail until an administrator's token restores the pair."""
        with self.db.session() as session:
            session.execute(update(PortalInstallation).where(PortalInstallation.member_id == member_id,
                                                             PortalInstallation.tokens_broken_at.is_(None))
                            .values(tokens_broken_at=utcnow()))

    def restore_tokens(self, *, member_id: str, tokens: TokenSet) -> None:
        """Store a pair an administrator's own token proved (the frame POST or a lifecycle event)."""
        with self.db.session() as session:
            row = session.scalar(select(PortalInstallation).where(PortalInstallation.member_id == member_id))
            if row is not None:
                self._set_tokens(row, tokens)
                row.tokens_broken_at = None
                row.refresh_lease_until = row.refresh_lease_holder = None

    def _set_tokens(self, row: PortalInstallation, tokens: TokenSet) -> None:
        row.access_token_enc = self.cipher.encrypt(tokens.access_token)
        row.refresh_token_enc = self.cipher.encrypt(tokens.refresh_token)
        row.expires_at = tokens.expires_at
        row.token_generation = (row.token_generation or 0) + 1

    def _snapshot(self, row: PortalInstallation) -> Installation:
        decrypt = self.cipher.decrypt
        return Installation(
            member_id=row.member_id, domain=row.domain, client_endpoint=row.client_endpoint,
            server_endpoint=row.server_endpoint,
            access_token=decrypt(row.access_token_enc) if row.access_token_enc else None,
            refresh_token=decrypt(row.refresh_token_enc) if row.refresh_token_enc else None,
            expires_at=row.expires_at, token_generation=row.token_generation or 0,
            scopes=tuple(s for s in (row.scopes or "").split(",") if s),
            admin_user_id=row.admin_user_id, app_version=row.app_version, status=row.status,
            installed_at=row.installed_at, tokens_broken_at=row.tokens_broken_at, paused_at=row.paused_at,
        )
