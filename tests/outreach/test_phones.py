from __future__ import annotations

import pytest

from outreach.phones import PhoneError, mask, to_e164, try_e164


@pytest.mark.parametrize("raw", ["8 (916) 123-45-67", "+7 916 123 45 67", "79161234567", "9161234567"])
def test_russian_forms_normalise_to_e164(raw: str) -> None:
    assert to_e164(raw) == "+79161234567"


def test_foreign_number_keeps_its_country() -> None:
    assert to_e164("+375 29 123-45-67") == "+375291234567"


@pytest.mark.parametrize("raw", ["", "не указан", "123", "8 (000) 000-00-00"])
def test_invalid_numbers_are_refused_in_russian_without_the_number(raw: str) -> None:
    with pytest.raises(PhoneError) as info:
        to_e164(raw)
    assert "номер" in str(info.value)
    assert try_e164(raw) is None


def test_mask_hides_the_middle() -> None:
    assert mask("+79161234567") == "+791******67"
    assert "1234" not in mask("+79161234567")
