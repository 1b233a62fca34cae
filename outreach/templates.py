"""Russian message texts as Jinja2 templates: defaults shipped here, each one replaceable in app.yaml
(``outreach.templates.<kind>.<part>``). Templates render in a sandbox with strict undefined names, so
a typo in app.yaml is an error at start-up, not a broken message.

Variables: ``name`` (first name and patronymic), ``full_name``, ``portal_url``, ``login`` (the e-mail
the portal knows, may be empty), ``reason`` (why we write), ``company``, plus ``text`` for messages
the portal itself sends.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from outreach.errors import OutreachConfigError

PARTS = ("email_subject", "email", "sms")

DEFAULTS: dict[str, dict[str, str]] = {
    "invitation": {
        "email_subject": "{{ company }}: вход в личный кабинет сотрудника",
        "email": (
            "Здравствуйте, {{ name }}!\n\n"
            "Для вас открыт личный кабинет сотрудника {{ company }} на портале Битрикс24: заявления "
            "на отпуск, справки, расчётные листки и новости — в одном месте.\n\n"
            "Как войти:\n"
            "1. Откройте {{ portal_url }}\n"
            "{% if login %}2. Логин — ваш e-mail {{ login }}. Если вы ещё не задали пароль, нажмите "
            "«Забыли пароль?» и следуйте письму.\n"
            "{% else %}2. Нажмите «Регистрация» и укажите свой e-mail — мы свяжем его с вашей карточкой.\n"
            "{% endif %}"
            "3. После входа установите мобильное приложение Битрикс24, чтобы получать уведомления.\n\n"
            "Если что-то не получается, ответьте на это письмо.\n\n"
            "Отдел кадров {{ company }}"),
        "sms": ("{{ company }}: ваш кабинет сотрудника — {{ portal_url }} "
                "{% if login %}Логин: {{ login }}, пароль — «Забыли пароль?»{% else %}Войдите по e-mail{% endif %}"),
    },
    "portal_sms": {"email_subject": "{{ company }}: сообщение", "email": "{{ text }}", "sms": "{{ text }}"},
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


class Templates:
    """Compiled templates by kind and part."""

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                                keep_trailing_newline=False)
        merged = {kind: dict(parts) for kind, parts in DEFAULTS.items()}
        for kind, parts in (overrides or {}).items():
            merged.setdefault(kind, {}).update(parts)
        self.compiled = {kind: {part: self._compile(f"{kind}.{part}", source) for part, source in parts.items()}
                         for kind, parts in merged.items()}

    def _compile(self, key: str, source: Any) -> Any:
        if not isinstance(source, str) or not source.strip():
            raise OutreachConfigError(f"outreach.templates.{key}: непустой текст шаблона Jinja2")
        try:
            return self.environment.from_string(source)
        except TemplateError as exc:
            raise OutreachConfigError(f"outreach.templates.{key}: шаблон Jinja2 с ошибкой ({exc})") from None

    def kinds(self) -> tuple[str, ...]:
        return tuple(self.compiled)

    def render(self, kind: str, channel: str, values: Mapping[str, Any]) -> Rendered:
        """The subject (e-mail only) and text of ``kind`` for ``channel`` ("email" or "sms")."""
        parts = self.compiled[kind]
        if channel == "email":
            return Rendered(_one_line(parts["email_subject"].render(values)), parts["email"].render(values))
        return Rendered("", _one_line(parts["sms"].render(values)))

    def check(self, sample: Mapping[str, Any]) -> None:
        """Render every template with ``sample`` values; an unknown variable is a config error."""
        for kind, parts in self.compiled.items():
            for part, template in parts.items():
                try:
                    template.render({**sample, "text": "…"})
                except TemplateError as exc:
                    raise OutreachConfigError(f"outreach.templates.{kind}.{part}: {exc}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())
