"""Logs keep secrets and personal data out, at every level and from every library.

Every log record is masked when it is made (``logging.setLogRecordFactory``), so the rule holds
for our loggers and for the libraries' alike (zeep's SOAP envelopes, urllib3's request lines,
werkzeug's access log) whatever handler writes it:

- secrets never appear: OAuth tokens, application tokens, event tokens, client secrets, passwords
  (``key=value``, ``"key": "value"``) and the code of an incoming-webhook URL (``/rest/1/<code>/``);
- СНИЛС, ИНН of a person (12 digits) and passport numbers never appear;
- e-mail addresses and phone numbers are kept only partly (``i***@example.ru``, ``+7******45-67``),
  enough to tell records apart.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable

MASK = "***"

_SECRET_KEYS = ("access_token", "refresh_token", "application_token", "event_token", "client_secret",
                "password", "auth_id", "refresh_id", "auth", "authorization", "secret", "token", "api_key",
                "apikey", "psw", "passwd")
_KEY = r"\b(?:" + "|".join(_SECRET_KEYS) + r")\b"
_SECRET_VALUE = re.compile(
    r"(?i)(?P<key>" + _KEY + r"(?:\]|%5D)?[\"']?\s*(?:=|:)\s*[\"']?)"
    r"(?P<value>(?:Bearer\s+|Basic\s+)?[^&\"'\s,;}\]<]+)")
_SECRET_ELEMENT = re.compile(r"(?i)(<(?:\w+:)?(?:Password|Token|Secret)>)[^<]*(</)")  # SOAP envelopes
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")
_WEBHOOK = re.compile(r"(/rest/\d+/)([A-Za-z0-9]{6,})(?=/|\b)")
_SNILS = re.compile(r"\b\d{3}-\d{3}-\d{3}[ -]?\d{2}\b")
_INN = re.compile(r"(?<![\w.-])\d{12}(?![\w.-])")  # not a run of digits inside a GUID or a number
_PASSPORT = re.compile(r"\b\d{2}\s?\d{2}\s№?\s?\d{6}\b")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"(?<![\w.])(?:\+7|8|7)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*(\d{2})[\s-]*(\d{2})(?![\d.])")


def mask(text: str) -> str:
    """``text`` with secrets and personal data replaced."""
    text = _SECRET_VALUE.sub(lambda m: m.group("key") + MASK, text)
    text = _SECRET_ELEMENT.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    text = _BEARER.sub(lambda m: m.group(1) + " " + MASK, text)
    text = _WEBHOOK.sub(lambda m: m.group(1) + MASK, text)
    text = _SNILS.sub(MASK, text)
    text = _INN.sub(MASK, text)
    text = _PASSPORT.sub(MASK, text)
    text = _PHONE.sub(lambda m: f"+7******{m.group(1)}-{m.group(2)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


class _MaskedRecords:
    """A record factory that formats the message once and stores it masked (idempotent to install)."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args, **kwargs) -> logging.LogRecord:  # type: ignore[no-untyped-def]
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template only, never the arguments
            message = str(record.msg)
        record.msg, record.args = mask(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return record


def install() -> None:
    """Mask every log record made from now on, in this process."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _MaskedRecords):
        logging.setLogRecordFactory(_MaskedRecords(factory))
