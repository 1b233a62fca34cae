"""Where the frame opens for each placement and role, and the deep links that lead there (pure logic)."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from cabinet.links import deep_link
from cabinet.roles import Roles, start_page
from cabinet.settings import load_settings
from cabinet.sources import Person


def roles(**held: object) -> Roles:
    base = {"user_id": 5, "employee": None, "brigade_sites": frozenset(), "client_sites": frozenset(),
            "provider_sites": frozenset(), "hr": False, "accounting": False, "admin": False}
    return Roles(**{**base, **held})  # type: ignore[arg-type]


EMPLOYEE = Person("p1", "Иванов Иван", 5, ())


@pytest.mark.parametrize("held,placement,options,expected", [
    ({"employee": EMPLOYEE}, "DEFAULT", {}, {"page": "cabinet"}),
    ({"client_sites": frozenset({10})}, "DEFAULT", {}, {"page": "sites"}),
    ({"employee": EMPLOYEE, "admin": True}, "DEFAULT", {}, {"page": "cabinet"}),
    ({"admin": True}, "DEFAULT", {}, {"page": "admin"}),
    ({"hr": True}, "DEFAULT", {}, {"page": "provider"}),
    ({}, "DEFAULT", {}, {"page": "none"}),
    ({"client_sites": frozenset({10})}, "SONET_GROUP_DETAIL_TAB", {"GROUP_ID": "10"}, {"page": "site", "group_id": 10}),
    ({"client_sites": frozenset({10})}, "SONET_GROUP_DETAIL_TAB", {"GROUP_ID": "11"},
     {"page": "refused", "reason": "У вас нет доступа к людям этой группы."}),
    ({"hr": True}, "SONET_GROUP_DETAIL_TAB", {"GROUP_ID": "11"}, {"page": "site", "group_id": 11}),
    ({"employee": EMPLOYEE}, "SONET_GROUP_DETAIL_TAB", {"GROUP_ID": "garbage"},
     {"page": "refused", "reason": "У вас нет доступа к людям этой группы."}),
    ({"employee": EMPLOYEE, "admin": True}, "REST_APP_URI", {"page": "admin"}, {"page": "admin"}),
    ({"employee": EMPLOYEE}, "REST_APP_URI", {"page": "admin"}, {"page": "cabinet"}),  # not theirs: their own page
    ({"client_sites": frozenset({10})}, "REST_APP_URI", {"page": "site", "group_id": "10"},
     {"page": "site", "group_id": 10}),
    ({"client_sites": frozenset({10})}, "REST_APP_URI", {"page": "site", "group_id": "12"}, {"page": "sites"}),
    ({"client_sites": frozenset({10}), "timesheets": True}, "REST_APP_URI", {"page": "timesheets", "group_id": "10"},
     {"page": "timesheets", "group_id": 10}),
    ({"client_sites": frozenset({10}), "timesheets": True}, "REST_APP_URI", {"page": "timesheets", "group_id": "12"},
     {"page": "timesheets"}),
    ({"client_sites": frozenset({10})}, "REST_APP_URI", {"page": "timesheets"}, {"page": "sites"}),  # feature off
    ({"employee": EMPLOYEE, "timesheets": True}, "REST_APP_URI", {"page": "timesheets"}, {"page": "timesheets"}),
    ({"hr": True, "timesheets": True}, "REST_APP_URI", {"page": "timesheets"}, {"page": "provider"}),
])
def test_start_page(held: dict, placement: str, options: dict, expected: dict) -> None:
    assert start_page(roles(**held), placement, options) == expected


def test_deep_links_carry_the_page_in_placement_options() -> None:
    link = deep_link("local.5c8bb1b0891cf2.87252039", "site", group_id=10)
    parts = urlsplit(link)
    assert parts.path == "/marketplace/view/local.5c8bb1b0891cf2.87252039/"
    assert dict(parse_qsl(parts.query)) == {"params[page]": "site", "params[group_id]": "10"}
    with pytest.raises(ValueError):
        deep_link("local.x", "elsewhere")


@pytest.mark.parametrize("raw,message", [
    ({"brigade_leaders": {"dept": [0]}}, "cabinet.brigade_leaders.dept: ожидается список ID"),
    ({"brigade_leaders": ["dept"]}, "cabinet.brigade_leaders: ожидается словарь"),
    ({"leaders": {}}, "cabinet: неизвестные ключи ['leaders']"),
])
def test_bad_cabinet_settings_name_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(raw)


def test_brigade_leaders_are_read_per_department() -> None:
    settings = load_settings({"brigade_leaders": {"DEPT-A": [42, 43], "dept-b": [43]}})
    assert settings.departments_led_by(43) == frozenset({"dept-a", "dept-b"})
    assert settings.departments_led_by(7) == frozenset()
