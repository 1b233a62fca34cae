"""Fixtures of the outreach tests: the fake SMS gateways and a real SMTP server on loopback."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from emulators.sms import RunningGateways, serve


@pytest.fixture
def gateways() -> Iterator[RunningGateways]:
    running = serve(port=0)
    yield running
    running.stop()


def hook(gateways: RunningGateways, path: str, body: dict | None = None, method: str = "POST"):  # type: ignore[no-untyped-def]
    response = requests.request(method, f"{gateways.url}/_emulator/{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


class Mailbox:
    """An aiosmtpd handler keeping every letter it accepts; addresses in ``refuse`` get 550."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.letters.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=(auth_data.login, auth_data.password) == (b"hr@example.ru", b"mail-secret"),
                      handled=False)


class SmtpServer:
    """A real SMTP server on 127.0.0.1: STARTTLS required (``mode="starttls"``) or implicit TLS."""

    def __init__(self, mode: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
        from aiosmtpd.controller import Controller

        from emulators.bitrix24.tls import self_signed_context
        from tests.support import free_port

        context, self.ca_file = self_signed_context(str(tmp_path))
        self.mailbox = Mailbox()
        self.port = free_port()
        # aiosmtpd's auth_require_tls looks only at STARTTLS; an implicit-TLS connection is TLS anyway
        options = ({"ssl_context": context, "auth_require_tls": False} if mode == "tls"
                   else {"tls_context": context, "require_starttls": True, "auth_require_tls": True})
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     authenticator=_authenticator, **options)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture(params=["starttls", "tls"])
def smtp_server(request, tmp_path) -> Iterator[SmtpServer]:  # type: ignore[no-untyped-def]
    server = SmtpServer(request.param, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    """The migrated database of the service (every feature's revisions), SQLite or PostgreSQL."""
    from b24app.db import Database

    database = Database(database_url)
    yield database
    database.dispose()


class ManualClock:
    def __init__(self, now) -> None:  # type: ignore[no-untyped-def]
        self.current = now

    def now(self):  # type: ignore[no-untyped-def]
        return self.current

    def advance(self, **delta) -> None:  # type: ignore[no-untyped-def]
        from datetime import timedelta

        self.current += timedelta(**delta)
