from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from outreach.planner import (INVITATION_BOUNCED, INVITATION_NOT_ACCEPTED, NEVER_LOGGED_IN, NO_EMAIL, Employee,
                              PortalAccount, by_unit, plan)
from outreach.rules import History, decide, outside_quiet_hours
from outreach.settings import Rules

UTC = timezone.utc
WHEN = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)


def employee(ref: str, email: str | None = "a@example.ru", phone: str | None = "+79161234567",
             user_id: int | None = 10, department: str = "Склад", entity: str = "ООО Альфа") -> Employee:
    return Employee(ref, f"Иванов {ref}", "Иван", email, phone, department, entity, None, user_id)


def account(user_id: int = 10, *, last_login: datetime | None = None, pending: bool = False,
            active: bool = True) -> PortalAccount:
    return PortalAccount(user_id, active, last_login, pending)


def test_reasons_and_channels() -> None:
    people = [
        employee("p1", user_id=1),                                  # invited, never accepted
        employee("p2", user_id=2),                                  # accepted, never logged in
        employee("p3", user_id=3),                                  # logs in: nothing to do
        employee("p4", email=None, user_id=None),                   # no e-mail in 1C → SMS
        employee("p5", email="Bounced@Example.ru", user_id=5),      # bounced → SMS
        employee("p6", email=None, phone="нет", user_id=None),      # no way to reach
        employee("p7", user_id=None),                               # not invited yet: the sync will
        employee("p8", user_id=8),                                  # dismissed (inactive)
    ]
    accounts = {1: account(1, pending=True), 2: account(2), 3: account(3, last_login=WHEN),
                5: account(5, pending=True), 8: account(8, active=False)}
    targets = {t.employee.person_ref: t for t in plan(people, accounts, {"bounced@example.ru"})}
    assert {ref: (t.reason, t.channel, t.address) for ref, t in targets.items()} == {
        "p1": (INVITATION_NOT_ACCEPTED, "email", "a@example.ru"),
        "p2": (NEVER_LOGGED_IN, "email", "a@example.ru"),
        "p4": (NO_EMAIL, "sms", "+79161234567"),
        "p5": (INVITATION_BOUNCED, "sms", "+79161234567"),
        "p6": (NO_EMAIL, None, None),
    }
    assert targets["p4"].reason_text == "нет e-mail в 1С"


def test_grouped_by_legal_entity_and_department() -> None:
    people = [employee("a", email=None, department="Склад"), employee("b", email=None, department="Касса"),
              employee("c", email=None, entity="ООО Бета")]
    groups = by_unit(plan(people, {}, set()))
    assert list(groups) == [("ООО Альфа", "Касса"), ("ООО Альфа", "Склад"), ("ООО Бета", "Склад")]
    assert groups[("ООО Альфа", "Склад")][NO_EMAIL] == 1


RULES = Rules(min_interval_days=3, max_reminders=2, quiet_start=time(21), quiet_end=time(9),
              time_zone="Europe/Moscow")


def test_one_message_per_person_per_n_days() -> None:
    recent = History(last_at=WHEN - timedelta(days=2, hours=23))
    assert "не раньше 31.12.2026 16:00" in (decide(WHEN, recent, RULES, None).skip or "")
    assert decide(WHEN, History(last_at=WHEN - timedelta(days=3)), RULES, None).send_at == WHEN


def test_stop_after_k_and_opt_out() -> None:
    assert decide(WHEN, History(of_kind=2), RULES, None).skip == "уже отправлено напоминаний: 2"
    assert decide(WHEN, History(opted_out=True), RULES, None).skip == "отказался от сообщений"


@pytest.mark.parametrize(("now_utc", "zone", "expected_utc"), [
    # 12:00 UTC = 15:00 Moscow: send now
    (datetime(2026, 12, 31, 12, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 12, 31, 12, 0, tzinfo=UTC)),
    # 12:00 UTC = 22:00 Vladivostok: wait for 09:00 there on New Year's Day = 23:00 UTC
    (datetime(2026, 12, 31, 12, 0, tzinfo=UTC), "Asia/Vladivostok", datetime(2026, 12, 31, 23, 0, tzinfo=UTC)),
    # 03:00 UTC = 06:00 Moscow: wait until 09:00 the same day
    (datetime(2027, 1, 1, 3, 0, tzinfo=UTC), "Europe/Moscow", datetime(2027, 1, 1, 6, 0, tzinfo=UTC)),
    # 20:59 Kaliningrad (UTC+2) is still allowed
    (datetime(2026, 2, 28, 18, 59, tzinfo=UTC), "Europe/Kaliningrad", datetime(2026, 2, 28, 18, 59, tzinfo=UTC)),
])
def test_quiet_hours_in_the_employees_time_zone(now_utc: datetime, zone: str, expected_utc: datetime) -> None:
    assert outside_quiet_hours(now_utc, RULES, zone) == expected_utc
    assert decide(now_utc, History(), RULES, zone).send_at == expected_utc


def test_unknown_zone_falls_back_to_the_service_zone() -> None:
    night = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # 23:00 Moscow
    assert outside_quiet_hours(night, RULES, "Nowhere/City") == datetime(2027, 1, 1, 6, 0, tzinfo=UTC)
