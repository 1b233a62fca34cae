from __future__ import annotations

from datetime import time

import pytest

from outreach.settings import OutreachConfigError, load_settings
from outreach.templates import Templates

ENV = {"SMSC_LOGIN": "kadry", "SMSC_PASSWORD": "p", "SMTP_PASSWORD": "m"}
VALUES = {"name": "Иван Петрович", "full_name": "Иванов Иван Петрович", "company": "ООО «Кадры»",
          "portal_url": "https://kadry.bitrix24.ru", "login": "ivanov@example.ru", "reason": "не входил"}


def test_defaults_carry_the_portal_link_and_login_steps() -> None:
    templates = Templates()
    letter = templates.render("invitation", "email", VALUES)
    assert letter.subject == "ООО «Кадры»: вход в личный кабинет сотрудника"
    assert "Здравствуйте, Иван Петрович!" in letter.text
    assert "1. Откройте https://kadry.bitrix24.ru" in letter.text
    assert "Логин — ваш e-mail ivanov@example.ru" in letter.text
    sms = templates.render("invitation", "sms", {**VALUES, "login": ""})
    assert "https://kadry.bitrix24.ru" in sms.text and "\n" not in sms.text
    assert "Войдите по e-mail" in sms.text


def test_a_template_from_app_yaml_replaces_the_default() -> None:
    settings = load_settings({"company": "ООО «Кадры»", "portal_url": "https://kadry.bitrix24.ru",
                              "templates": {"invitation": {"sms": "{{ name }}, вход: {{ portal_url }}"}}}, {})
    assert settings.templates.render("invitation", "sms", VALUES).text == "Иван Петрович, вход: https://kadry.bitrix24.ru"


@pytest.mark.parametrize(("templates", "expected"), [
    ({"invitation": {"sms": "{{ name "}}, "outreach.templates.invitation.sms: шаблон Jinja2 с ошибкой"),
    ({"invitation": {"sms": "{{ nmae }}"}}, "outreach.templates.invitation.sms: 'nmae' is undefined"),
    ({"invitation": {"sms": ""}}, "outreach.templates.invitation.sms: непустой текст"),
])
def test_broken_templates_are_config_errors_naming_the_key(templates: dict, expected: str) -> None:
    with pytest.raises(OutreachConfigError, match=expected.replace("(", r"\(")):
        load_settings({"templates": templates}, {})


def test_full_section_reads_secrets_from_the_environment() -> None:
    settings = load_settings({
        "company": "ООО «Кадры»", "portal_url": "https://kadry.bitrix24.ru/",
        "rules": {"min_interval_days": 2, "max_reminders": 5, "quiet_hours": "22:30-08:00",
                  "time_zone": "Asia/Yekaterinburg"},
        "email": {"host": "smtp.example.ru", "from": "hr@example.ru", "password_env": "SMTP_PASSWORD",
                  "daily_cap": 100},
        "sms_gateways": [{"name": "smsc", "kind": "smsc", "url": "https://smsc.ru", "login_env": "SMSC_LOGIN",
                          "password_env": "SMSC_PASSWORD", "sender": "KADRY", "daily_cap": 50}],
    }, ENV)
    assert settings.portal_url == "https://kadry.bitrix24.ru"
    assert (settings.rules.quiet_start, settings.rules.quiet_end) == (time(22, 30), time(8, 0))
    assert settings.email is not None and (settings.email.port, settings.email.password) == (587, "m")
    [gateway] = settings.gateways
    assert (gateway.secrets, gateway.daily_cap) == ({"login": "kadry", "password": "p"}, 50)


@pytest.mark.parametrize(("raw", "expected"), [
    ({"rules": {"quiet_hours": "вечером"}}, "outreach.rules.quiet_hours"),
    ({"rules": {"time_zone": "Mars/Olympus"}}, "outreach.rules.time_zone"),
    ({"email": {"host": "smtp.example.ru", "from": "hr@example.ru", "security": "none"}}, "outreach.email.security"),
    ({"sms_gateways": [{"name": "x", "kind": "smsc", "url": "https://smsc.ru", "login_env": "NOPE",
                        "password_env": "SMSC_PASSWORD"}]}, "переменная окружения NOPE не задана"),
    ({"sms_gateways": [{"name": "x", "kind": "telegram"}]}, "outreach.sms_gateways[0].kind"),
    ({"provider": {"code": "код"}}, "outreach.provider.code"),
])
def test_bad_settings_name_the_key_in_russian(raw: dict, expected: str) -> None:
    with pytest.raises(OutreachConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_settings(raw, ENV)


def test_approval_rules_per_process_fall_back_to_the_defaults() -> None:
    settings = load_settings({"rules": {"time_zone": "Asia/Yekaterinburg"}, "approvals": {
        "working_hours": "08:30-17:30", "remind_after_hours": 6, "escalate_to": [1, 5],
        "processes": {"sick_leave": {"remind_after_hours": 2, "escalate_after_hours": 4}}}}, {}).approvals
    assert (settings.working_start, settings.working_end, settings.time_zone) == (
        time(8, 30), time(17, 30), "Asia/Yekaterinburg")
    assert (settings.rules_for("sick_leave").remind_after_hours, settings.rules_for("sick_leave").escalate_after_hours) \
        == (2, 4)
    assert (settings.rules_for("vacation").remind_after_hours, settings.rules_for("vacation").escalate_after_hours) \
        == (6, 16)
    assert settings.escalate_to == (1, 5) and settings.absence_processes == ("vacation", "business_trip")


@pytest.mark.parametrize(("approvals", "expected"), [
    ({"working_hours": "18:00-09:00"}, "outreach.approvals.working_hours: конец рабочего дня позже начала"),
    ({"working_hours": "9-18"}, "outreach.approvals.working_hours: «ЧЧ:ММ-ЧЧ:ММ»"),
    ({"time_zone": "Марс"}, "outreach.approvals.time_zone: часовой пояс IANA"),
    ({"remind_after_hours": "два"}, "outreach.approvals.remind_after_hours: число рабочих часов"),
    ({"processes": {"vacation": {"remind_after_hours": 8, "escalate_after_hours": 4}}},
     "outreach.approvals.processes.vacation.escalate_after_hours: больше, чем remind_after_hours"),
    ({"escalate_to": ["admin"]}, "outreach.approvals.escalate_to: список ID пользователей"),
    ({"notify": {"new_tasks": "да"}}, "outreach.approvals.notify.new_tasks: true или false"),
    ({"absence_processes": "vacation"}, "outreach.approvals.absence_processes: список кодов процессов"),
])
def test_bad_approval_rules_name_the_key(approvals: dict, expected: str) -> None:
    with pytest.raises(OutreachConfigError, match=expected.replace("(", r"\(")):
        load_settings({"approvals": approvals}, {})
