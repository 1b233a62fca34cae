"""Database: engine and sessions per app, SQLite (WAL) by default, PostgreSQL via DATABASE_URL.

The schema is managed by Alembic (``b24app db upgrade``); ``upgrade_schema`` runs it from code
over the core's and the features' revision folders.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Sequence

from flask import Flask, current_app
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

class Base(DeclarativeBase):
    """Declarative base of every table."""


def default_sqlite_url(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'b24app.sqlite3'}"


def make_engine(url: str) -> Engine:
    """An engine tuned for the embedded (SQLite WAL) or the production (PostgreSQL) setup."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    # Writing transactions BEGIN IMMEDIATE: they take the write lock up front, so a read-then-write
    # transaction never fails on a lock upgrade. Read-only sessions BEGIN DEFERRED (WAL readers
    # never wait for writers).
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


class SQLiteWriteLock:
    """One writer at a time across this machine's processes and their threads, woken as soon as the
    previous one is done: a thread lock, then an exclusive ``flock`` on ``<database>.writelock``.

    SQLite admits one writer; a second one waits in its busy handler, which sleeps in steps of
    1, 2, 5 … up to 100 ms (sqliteDefaultBusyCallback), so two processes writing at once lose
    milliseconds per hand-over. The file stays open in the process that opened it (no open and close
    around each hold: each would let another thread take the GIL while the lock is held); a process
    forked from it opens its own (a descriptor inherited across ``fork`` shares its lock with the
    parent), and :meth:`close` (``Database.dispose``) closes it.
    """

    def __init__(self, database_path: str) -> None:
        self.path = f"{database_path}.writelock"
        self.threads = threading.Lock()
        self.fd = -1
        self.pid = -1

    def __enter__(self) -> None:
        self.threads.acquire()
        try:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def _descriptor(self) -> int:
        if self.pid != os.getpid():
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self.pid = os.getpid()
        return self.fd

    def close(self) -> None:
        with self.threads:
            if self.pid == os.getpid():
                os.close(self.fd)
            self.fd, self.pid = -1, -1


def _write_lock(engine: Engine) -> AbstractContextManager:
    """The lock a writer of ``engine`` holds around its transaction (nothing on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return threading.Lock()
    return SQLiteWriteLock(database)


class Database:
    """The engine and session factory of one app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = self.engine.execution_options(sqlite_begin="DEFERRED")
        self.write_lock = _write_lock(self.engine)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        # what holds connections or files outside the pool closes them
        self.on_dispose: list[Callable[[], None]] = [self.write_lock.close] if isinstance(
            self.write_lock, SQLiteWriteLock) else []

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only (no write lock on SQLite)."""
        session = self.read_sessions()
        try:
            yield session
        finally:
            session.close()  # ends the transaction; loaded objects stay readable

    def dispose(self) -> None:
        for close in self.on_dispose:
            close()
        self.engine.dispose()


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or default_sqlite_url(app.instance_path)
    app.extensions["b24app.db"] = Database(url)


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["b24app.db"]


def upgrade_schema(url: str, version_folders: Sequence[str], revision: str = "heads") -> None:
    """Run the Alembic migrations found in ``version_folders`` up to ``revision`` against ``url``."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("version_locations", " ".join(version_folders))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, revision)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC on every backend and returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        return value.replace(tzinfo=timezone.utc) if value is not None else None
