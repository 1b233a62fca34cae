"""`b24app outreach plan` and `send [--dry-run]` on a real app, gateways and SMTP server."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from service import create_app
from emulators.sms import RunningGateways
from outreach.cli import group
from outreach.models import OutreachMessage
from outreach.planner import Employee, PortalAccount
from tests.outreach.conftest import ManualClock, SmtpServer, hook
from tests.support import write_config

NOON = datetime(2026, 12, 31, 9, 0, tzinfo=timezone.utc)


class Staff:
    """Three people: one never accepted the invitation, one has no e-mail, one logs in."""

    def employees(self):  # type: ignore[no-untyped-def]
        return [Employee("p1", "Иванов Иван Петрович", "Иван Петрович", "ivanov@example.ru", "+79161234567",
                         "Склад", "ООО Альфа", "Europe/Moscow", 11),
                Employee("p2", "Петрова Анна Сергеевна", "Анна Сергеевна", None, "8 (916) 765-43-21",
                         "Склад", "ООО Альфа", "Europe/Moscow", None),
                Employee("p3", "Сидоров Пётр", "Пётр", "sidorov@example.ru", None, "Касса", "ООО Альфа", None, 13)]

    def accounts(self):  # type: ignore[no-untyped-def]
        return {11: PortalAccount(11, True, None, True), 13: PortalAccount(13, True, NOON, False)}


@pytest.fixture
def app(tmp_path, database_url: str, gateways: RunningGateways, monkeypatch):  # type: ignore[no-untyped-def]
    server = SmtpServer("starttls", tmp_path)
    url = database_url
    secrets = {"SMSC_LOGIN": "test", "SMSC_PASSWORD": "secret", "SMTP_USER": "hr@example.ru",
               "SMTP_PASSWORD": "mail-secret"}
    config, _env = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=url, env=secrets,
                                extra={
        "outreach": {"company": "ООО «Альфа»", "portal_url": "https://alfa.bitrix24.ru",
                     "email": {"host": "127.0.0.1", "port": server.port, "from": "hr@example.ru",
                               "user_env": "SMTP_USER", "password_env": "SMTP_PASSWORD"},
                     "sms_gateways": [{"name": "smsc", "kind": "smsc", "url": gateways.url + "/smsc",
                                       "login_env": "SMSC_LOGIN", "password_env": "SMSC_PASSWORD",
                                       "sender": "B24APP"}]}})
    application = create_app(config)
    application.extensions["outreach.sources"] = Staff()
    application.extensions["outreach.clock"] = ManualClock(NOON)
    monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)  # the SMTP server's self-signed certificate
    application.extensions["smtp"] = server
    yield application
    server.stop()
    application.extensions["b24app.db"].dispose()


def test_plan_lists_people_with_reasons_per_unit(app) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(group, ["plan"])
    assert result.exit_code == 0, result.output
    assert "ООО Альфа — Склад: не принял приглашение: 1, нет e-mail в 1С: 1" in result.output
    assert "Петрова Анна Сергеевна: нет e-mail в 1С; sms +791******21" in result.output
    assert "765-43" not in result.output and "Сидоров" not in result.output


def test_dry_run_shows_exactly_what_would_go_and_sends_nothing(app, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(group, ["send", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "email → ivanov@example.ru (p1), сейчас" in result.output
    assert "Тема: ООО «Альфа»: вход в личный кабинет сотрудника" in result.output
    assert "1. Откройте https://alfa.bitrix24.ru" in result.output
    assert "sms → +791******21 (p2)" in result.output
    assert "ничего не отправлено" in result.output
    assert hook(gateways, "messages", method="GET") == []
    assert app.extensions["smtp"].mailbox.letters == []
    with app.extensions["b24app.db"].read_session() as session:
        assert session.scalars(select(OutreachMessage)).all() == []


def test_send_delivers_then_the_interval_rule_holds_the_next_run(app, gateways: RunningGateways) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    result = runner.invoke(group, ["send"])
    assert result.exit_code == 0, result.output
    assert "Очередь: sent: 2" in result.output
    [sms] = hook(gateways, "messages", method="GET")
    assert sms["phone"] == "79167654321" and "https://alfa.bitrix24.ru" in sms["text"]
    assert len(app.extensions["smtp"].mailbox.letters) == 1
    again = runner.invoke(group, ["send", "--dry-run"])
    assert "недавно писали" in again.output and "0 сообщений было бы отправлено" in again.output


def test_opt_out_holds_the_person_back(app) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    assert runner.invoke(group, ["opt-out", "8 916 765-43-21"]).exit_code == 0
    result = runner.invoke(group, ["send", "--dry-run"])
    assert "Петрова Анна Сергеевна — отказался от сообщений" in result.output
