"""Phone numbers: E.164 with the maintained ``phonenumbers`` library, masked for logs and pages."""
from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "RU"


class PhoneError(ValueError):
    """The text is not a valid phone number; the message is Russian."""


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """``+79161234567`` from what 1C or a portal profile holds (``8 (916) 123-45-67`` and the like)."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("номер телефона пуст")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"не номер телефона: {mask(text)}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"неверный номер телефона: {mask(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form, or None when the text is empty or not a valid number."""
    try:
        return to_e164(raw or "", region)
    except PhoneError:
        return None


def digits(e164: str) -> str:
    """``79161234567``: the form Russian gateways expect."""
    return e164.lstrip("+")


def mask(phone: str) -> str:
    """``+7916*****67``: enough to tell numbers apart in a log, not enough to call."""
    text = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if len(text) <= 6:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 6) + text[-2:]
