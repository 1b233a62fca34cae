"""Portal notifications that go out once (im.notify with the cause as TAG) on the Bitrix24 emulator, and the
absence commands of ``b24app outreach``."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from b24app.db import get_db
from b24app.portal import client_for
from outreach.cli import group
from outreach.notices import TAG_PREFIX, Notice, deliver, notices_of, post
from tests.outreach.conftest import ManualClock
from tests.support import EmulatedInstall

NOON = datetime(2026, 12, 31, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> Iterator[EmulatedInstall]:
    installed = EmulatedInstall(tmp_path, database_url)
    installed.app.extensions["outreach.clock"] = ManualClock(NOON)
    installed.install()
    installed.drain()
    yield installed
    installed.stop()


def _notifications(setup: EmulatedInstall) -> list[dict]:
    return setup.hook("notifications", method="GET")


def test_each_notice_reaches_the_portal_once(setup: EmulatedInstall) -> None:
    db, member_id = get_db(setup.app), setup.member_id
    user = int(setup.hook("users", {"NAME": "Борис", "LAST_NAME": "Начальников", "EMAIL": "boss@example.ru"})["ID"])
    notices = [Notice("task:1:7:new", user, "new_task", "Новая задача"), Notice("task:1:999:new", 999, "new_task", "—")]
    assert post(db, member_id, notices, NOON) == 2
    assert post(db, member_id, notices, NOON) == 0  # the same causes: nothing new
    with client_for(setup.app) as client:
        assert deliver(db, client, member_id, NOON) == 1
        assert deliver(db, client, member_id, NOON) == 0
    sent, refused = notices_of(db, member_id)
    assert (sent.status, sent.sent_at) == ("sent", NOON)
    assert refused.status == "failed" and "USER_ID_EMPTY" in (refused.error or "")
    [shown] = _notifications(setup)
    assert (shown["USER_ID"], shown["MESSAGE"], shown["TYPE"], shown["TAG"]) == (
        user, "Новая задача", "system", TAG_PREFIX + "task:1:7:new")


def test_a_send_repeated_after_a_crash_leaves_one_notification(setup: EmulatedInstall) -> None:
    db, member_id = get_db(setup.app), setup.member_id
    user = int(setup.hook("users", {"NAME": "Дина", "LAST_NAME": "Замова", "EMAIL": "dina@example.ru"})["ID"])
    post(db, member_id, [Notice("task:2:5:reminder", user, "reminder", "Напоминание")], NOON)
    with client_for(setup.app) as client:  # an earlier run got this far, then died before noting it
        client.call("im.notify", {"USER_ID": user, "TYPE": "SYSTEM", "MESSAGE": "Напоминание",
                                  "TAG": TAG_PREFIX + "task:2:5:reminder"})
        assert deliver(db, client, member_id, NOON) == 1
    assert [n["MESSAGE"] for n in _notifications(setup) if n["USER_ID"] == user] == ["Напоминание"]


def test_absence_commands(setup: EmulatedInstall) -> None:
    runner = setup.app.test_cli_runner()
    added = runner.invoke(group, ["absence", "add", "7", "--from", "30.12.2026", "--to", "2027-01-10",
                                  "--substitute", "8", "--note", "отпуск"])
    assert added.exit_code == 0, added.output
    assert "пользователь 7 с 30.12.2026 по 10.01.2027, замещает 8" in added.output
    listed = runner.invoke(group, ["absence", "list"])
    assert "пользователь 7, 30.12.2026–10.01.2027, замещает 8" in listed.output and "Всего: 1" in listed.output
    wrong = runner.invoke(group, ["absence", "add", "7", "--from", "2027-01-10", "--to", "2027-01-01"])
    assert wrong.exit_code != 0 and "раньше даты начала" in wrong.output
    elsewhere = runner.invoke(group, ["absence", "add", "7", "--from", "2027-01-10", "--to", "2027-01-11",
                                      "--portal", "f" * 32])
    assert elsewhere.exit_code != 0 and "не установлен" in elsewhere.output
    absence_id = added.output.split()[1]
    assert runner.invoke(group, ["absence", "remove", absence_id]).exit_code == 0
    assert "Всего: 0" in runner.invoke(group, ["absence", "list", "--all"]).output
    assert runner.invoke(group, ["absence", "remove", absence_id]).exit_code != 0
    assert "Уведомлений отправлено: 0." in runner.invoke(group, ["approvals"]).output
