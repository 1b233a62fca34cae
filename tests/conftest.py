"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is
set), the app built from a real app.yaml + environment, and the app served on a real port."""
from __future__ import annotations

import io
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from b24app.config import Config
from service import create_app, upgrade_schema
from tests.support import write_config

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str | None]:
    """One fresh PostgreSQL schema for the run (dropped afterwards), or None for SQLite."""
    if not TEST_DATABASE_URL:
        yield None
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(TEST_DATABASE_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"
    upgrade_schema(url)
    yield url
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, pg_schema_url: str | None) -> str:
    """An empty, migrated database for one test."""
    if pg_schema_url is None:
        url = f"sqlite:///{tmp_path / 'b24app.sqlite3'}"
        upgrade_schema(url)
        return url
    engine = sa.create_engine(pg_schema_url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'alembic_version'"))]
        if tables:
            # a connection leaked by an earlier test would block this forever: fail loudly instead
            conn.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    return pg_schema_url


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url)[0]


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    application = create_app(config)
    application.config["TESTING"] = True
    yield application
    application.extensions["b24app.db"].dispose()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as a handler on the root writes it."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield output
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Playwright for the page tests, once per module (it drives /usr/bin/chromium: tests/cabinet/browser.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running
