"""The ``outreach:`` section of app.yaml, validated into :class:`OutreachSettings`.

```yaml
outreach:
  company: "ООО «Кадровый партнёр»"          # used in the texts
  portal_url: https://company.bitrix24.ru     # the link in every message
  rules:
    min_interval_days: 3         # at most one message per person per N days
    max_reminders: 3             # stop after K messages of one kind to one person
    quiet_hours: "21:00-09:00"   # in the employee's time zone; nothing is sent inside
    time_zone: Europe/Moscow     # for people whose time zone is not known
    fallback: true               # a message that finally fails goes by the other channel
  retry: {attempts: 3, rounds: 4, backoff_s: 300, max_backoff_s: 3600}
  email:                         # omit to send no e-mail
    host: smtp.example.ru
    port: 587
    security: starttls           # starttls | tls | none (none only for a relay on 127.0.0.1)
    from: hr@example.ru
    from_name: Отдел кадров
    user_env: OUTREACH_SMTP_USER           # names of environment variables, never the secrets
    password_env: OUTREACH_SMTP_PASSWORD
    daily_cap: 2000
  sms_gateways:                  # tried in this order
    - {name: smsc, kind: smsc, url: https://smsc.ru, login_env: SMSC_LOGIN, password_env: SMSC_PASSWORD,
       sender: KADRY, daily_cap: 1000, rate_per_s: 10}
    - {name: smsru, kind: smsru, url: https://sms.ru, api_id_env: SMSRU_API_ID, sender: KADRY}
    - {name: hook, kind: webhook, url: https://sms.example.ru/send, token_env: OUTREACH_WEBHOOK_TOKEN}
  templates:                     # overrides of outreach/templates.py DEFAULTS, Jinja2
    invitation: {sms: "{{ company }}: кабинет {{ portal_url }}"}
  provider: {code: b24app_sms, name: "SMS через b24app"}   # the portal's SMS provider (messageservice)
  approvals:                     # approval tasks of the HR processes: notices, reminders, escalation
    working_hours: "09:00-18:00" # hours are counted on working days of the production calendar only
    time_zone: Europe/Moscow     # default: rules.time_zone
    remind_after_hours: 8        # a reminder to the approver (0: none)
    escalate_after_hours: 16     # a notice to the approver's substitute or manager (0: none)
    escalate_to: [1]             # who hears of it when the approver has neither
    notify: {new_tasks: true, status_changes: true}
    absence_processes: [vacation, business_trip]   # approved requests that make their author absent
    processes:                   # per process code (bizproc_templates/processes/<code>.yaml)
      sick_leave: {remind_after_hours: 2, escalate_after_hours: 4}
```
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outreach.errors import OutreachConfigError
from outreach.mail import SECURITY, SmtpSettings
from outreach.templates import Templates

GATEWAY_KINDS = ("smsru", "smsc", "webhook")
SECRETS = {"smsru": ("api_id_env",), "smsc": ("login_env", "password_env"), "webhook": ("token_env",)}
_CODE = re.compile(r"^[A-Za-z0-9._-]+$")  # messageservice.sender.add: allowed CODE characters


@dataclass(frozen=True)
class Rules:
    min_interval_days: int = 3
    max_reminders: int = 3
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    time_zone: str = "Europe/Moscow"
    fallback: bool = True


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 3          # tries within one round (tenacity, retriable errors only)
    rounds: int = 4            # rounds before the message is marked failed
    backoff_s: int = 300       # first wait between rounds, doubled each round
    max_backoff_s: int = 3600


@dataclass(frozen=True)
class GatewaySettings:
    name: str
    kind: str
    url: str
    sender: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)  # api_id / login / password / token
    daily_cap: int | None = None
    rate_per_s: float = 5.0
    timeout_s: float = 15.0


@dataclass(frozen=True)
class ProviderSettings:
    code: str = "b24app_sms"
    name: str = "SMS через b24app"


@dataclass(frozen=True)
class ApprovalRules:
    remind_after_hours: float = 8.0     # working hours; 0: no reminder
    escalate_after_hours: float = 16.0  # working hours; 0: no escalation


@dataclass(frozen=True)
class ApprovalSettings:
    working_start: time = time(9, 0)
    working_end: time = time(18, 0)
    time_zone: str = "Europe/Moscow"
    default: ApprovalRules = field(default_factory=ApprovalRules)
    processes: Mapping[str, ApprovalRules] = field(default_factory=dict)
    escalate_to: tuple[int, ...] = ()
    notify_new_tasks: bool = True
    notify_status_changes: bool = True
    absence_processes: tuple[str, ...] = ("vacation", "business_trip")

    def rules_for(self, process: str) -> ApprovalRules:
        return self.processes.get(process, self.default)


@dataclass(frozen=True)
class OutreachSettings:
    company: str = ""
    portal_url: str = ""
    rules: Rules = field(default_factory=Rules)
    retry: RetrySettings = field(default_factory=RetrySettings)
    email: SmtpSettings | None = None
    email_daily_cap: int | None = None
    gateways: tuple[GatewaySettings, ...] = ()
    templates: Templates = field(default_factory=Templates)
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    approvals: ApprovalSettings = field(default_factory=ApprovalSettings)


def load_settings(raw: Mapping[str, Any] | None, env: Mapping[str, str]) -> OutreachSettings:
    """Read the section (``raw``) and the secrets it names from ``env``."""
    raw = raw or {}
    _mapping(raw, "outreach")
    templates = Templates(_mapping(raw.get("templates"), "outreach.templates"))
    settings = OutreachSettings(
        company=_text(raw, "company", "outreach", default=""),
        portal_url=_url(raw.get("portal_url"), "outreach.portal_url"),
        rules=_rules(_mapping(raw.get("rules"), "outreach.rules")),
        retry=_retry(_mapping(raw.get("retry"), "outreach.retry")),
        email=_email(raw.get("email"), env),
        email_daily_cap=_cap((raw.get("email") or {}).get("daily_cap"), "outreach.email.daily_cap"),
        gateways=_gateways(raw.get("sms_gateways"), env),
        templates=templates,
        provider=_provider(_mapping(raw.get("provider"), "outreach.provider")),
        approvals=_approvals(_mapping(raw.get("approvals"), "outreach.approvals"),
                             str(_mapping(raw.get("rules"), "outreach.rules").get("time_zone", "Europe/Moscow"))),
    )
    templates.check({"name": "Иван Петрович", "full_name": "Иванов Иван Петрович", "company": settings.company,
                     "portal_url": settings.portal_url, "login": "ivanov@example.ru", "reason": "…"})
    return settings


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OutreachConfigError(f"{key}: словарь ключей")
    return value


def _text(raw: Mapping[str, Any], name: str, prefix: str, default: str | None = None) -> str:
    value = raw.get(name, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise OutreachConfigError(f"{prefix}.{name}: непустая строка")
    return value.strip()


def _url(value: Any, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        raise OutreachConfigError(f"{key}: адрес http(s)://…")
    return value.rstrip("/")


def _positive_int(raw: Mapping[str, Any], name: str, prefix: str, default: int) -> int:
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OutreachConfigError(f"{prefix}.{name}: целое число ≥ 0")
    return value


def _cap(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise OutreachConfigError(f"{key}: целое число > 0 (сообщений в сутки)")
    return value


def _time_range(value: Any, key: str, example: str) -> tuple[time, time]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", str(value)) if value else None
    if value and not match:
        raise OutreachConfigError(f"{key}: «ЧЧ:ММ-ЧЧ:ММ», например «{example}»")
    try:
        return ((time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))) if match
                else (time(0), time(0)))
    except ValueError:
        raise OutreachConfigError(f"{key}: часы 0–23, минуты 0–59") from None


def _rules(raw: Mapping[str, Any]) -> Rules:
    start, end = _time_range(raw.get("quiet_hours", "21:00-09:00"), "outreach.rules.quiet_hours", "21:00-09:00")
    zone = raw.get("time_zone", "Europe/Moscow")
    _zone(zone, "outreach.rules.time_zone")
    fallback = raw.get("fallback", True)
    if not isinstance(fallback, bool):
        raise OutreachConfigError("outreach.rules.fallback: true или false")
    return Rules(_positive_int(raw, "min_interval_days", "outreach.rules", 3),
                 _positive_int(raw, "max_reminders", "outreach.rules", 3), start, end, zone, fallback)


def _zone(value: Any, key: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise OutreachConfigError(f"{key}: часовой пояс IANA, например Europe/Moscow") from None


def _retry(raw: Mapping[str, Any]) -> RetrySettings:
    defaults = RetrySettings()
    values = {name: _positive_int(raw, name, "outreach.retry", getattr(defaults, name))
              for name in ("attempts", "rounds", "backoff_s", "max_backoff_s")}
    if values["attempts"] < 1 or values["rounds"] < 1:
        raise OutreachConfigError("outreach.retry: attempts и rounds — не меньше 1")
    return RetrySettings(**values)


def _secret(raw: Mapping[str, Any], name: str, prefix: str, env: Mapping[str, str]) -> str:
    variable = _text(raw, name, prefix)
    value = env.get(variable, "")
    if not value:
        raise OutreachConfigError(f"{prefix}.{name}: переменная окружения {variable} не задана")
    return value


def _email(value: Any, env: Mapping[str, str]) -> SmtpSettings | None:
    if value is None:
        return None
    raw = _mapping(value, "outreach.email")
    security = raw.get("security", "starttls")
    if security not in SECURITY:
        raise OutreachConfigError("outreach.email.security: starttls, tls или none")
    host = _text(raw, "host", "outreach.email")
    if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
        raise OutreachConfigError("outreach.email.security: none допустимо только для сервера на 127.0.0.1")
    port = raw.get("port", 465 if security == "tls" else 587)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise OutreachConfigError("outreach.email.port: номер порта 1–65535")
    sender = _text(raw, "from", "outreach.email")
    if "@" not in sender:
        raise OutreachConfigError("outreach.email.from: адрес e-mail отправителя")
    user = _secret(raw, "user_env", "outreach.email", env) if "user_env" in raw else ""
    password = _secret(raw, "password_env", "outreach.email", env) if "password_env" in raw else ""
    return SmtpSettings(host, port, security, sender, str(raw.get("from_name", "")), user, password)


def _gateways(value: Any, env: Mapping[str, str]) -> tuple[GatewaySettings, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise OutreachConfigError("outreach.sms_gateways: список шлюзов")
    gateways, names = [], set()
    for index, item in enumerate(value):
        prefix = f"outreach.sms_gateways[{index}]"
        raw = _mapping(item, prefix)
        name, kind = _text(raw, "name", prefix), raw.get("kind")
        if kind not in GATEWAY_KINDS:
            raise OutreachConfigError(f"{prefix}.kind: smsru, smsc или webhook")
        if name in names:
            raise OutreachConfigError(f"{prefix}.name: имена шлюзов не повторяются")
        names.add(name)
        secrets = {key.removesuffix("_env"): _secret(raw, key, prefix, env) for key in SECRETS[kind]}
        rate = raw.get("rate_per_s", 5.0)
        if not isinstance(rate, (int, float)) or rate <= 0:
            raise OutreachConfigError(f"{prefix}.rate_per_s: положительное число запросов в секунду")
        gateways.append(GatewaySettings(name, kind, _url(raw.get("url"), f"{prefix}.url") or _required_url(prefix),
                                        raw.get("sender"), secrets, _cap(raw.get("daily_cap"), f"{prefix}.daily_cap"),
                                        float(rate)))
    return tuple(gateways)


def _required_url(prefix: str) -> str:
    raise OutreachConfigError(f"{prefix}.url: адрес http(s)://… шлюза")


def _provider(raw: Mapping[str, Any]) -> ProviderSettings:
    code = raw.get("code", ProviderSettings.code)
    if not isinstance(code, str) or not _CODE.match(code):
        raise OutreachConfigError("outreach.provider.code: латинские буквы, цифры, «.», «-», «_»")
    return ProviderSettings(code, str(raw.get("name", ProviderSettings.name)))


def _approvals(raw: Mapping[str, Any], default_zone: str) -> ApprovalSettings:
    prefix = "outreach.approvals"
    start, end = _time_range(raw.get("working_hours", "09:00-18:00"), f"{prefix}.working_hours", "09:00-18:00")
    if end <= start:
        raise OutreachConfigError(f"{prefix}.working_hours: конец рабочего дня позже начала")
    zone = str(raw.get("time_zone", default_zone))
    _zone(zone, f"{prefix}.time_zone")
    default = _approval_rules(raw, prefix, ApprovalRules())
    processes = {str(code): _approval_rules(_mapping(value, f"{prefix}.processes.{code}"),
                                            f"{prefix}.processes.{code}", default)
                 for code, value in _mapping(raw.get("processes"), f"{prefix}.processes").items()}
    notify = _mapping(raw.get("notify"), f"{prefix}.notify")
    return ApprovalSettings(start, end, zone, default, processes,
                            _user_ids(raw.get("escalate_to"), f"{prefix}.escalate_to"),
                            _flag(notify, "new_tasks", f"{prefix}.notify"),
                            _flag(notify, "status_changes", f"{prefix}.notify"),
                            _codes(raw.get("absence_processes", ["vacation", "business_trip"]),
                                   f"{prefix}.absence_processes"))


def _approval_rules(raw: Mapping[str, Any], prefix: str, defaults: ApprovalRules) -> ApprovalRules:
    values = {}
    for name in ("remind_after_hours", "escalate_after_hours"):
        value = raw.get(name, getattr(defaults, name))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise OutreachConfigError(f"{prefix}.{name}: число рабочих часов ≥ 0 (0 — не нужно)")
        values[name] = float(value)
    rules = ApprovalRules(**values)
    late = rules.escalate_after_hours and rules.escalate_after_hours <= rules.remind_after_hours
    if rules.remind_after_hours and late:
        raise OutreachConfigError(f"{prefix}.escalate_after_hours: больше, чем remind_after_hours")
    return rules


def _user_ids(value: Any, key: str) -> tuple[int, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, int) and not isinstance(item, bool) and item > 0 for item in items):
        raise OutreachConfigError(f"{key}: список ID пользователей Битрикс24, например [1]")
    return tuple(items)


def _codes(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and _CODE.match(item) for item in value):
        raise OutreachConfigError(f"{key}: список кодов процессов, например [vacation, business_trip]")
    return tuple(value)


def _flag(raw: Mapping[str, Any], name: str, prefix: str) -> bool:
    value = raw.get(name, True)
    if not isinstance(value, bool):
        raise OutreachConfigError(f"{prefix}.{name}: true или false")
    return value
