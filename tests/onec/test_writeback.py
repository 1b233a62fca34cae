"""Write-back over OData: a vacation request document is created in 1C and its status read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from onec.errors import OneCConfigError
from onec.source import ZupSource


def test_vacation_request_is_created_and_its_status_read(make_source: Callable[..., ZupSource],
                                                         hooks: Any) -> None:
    source = make_source()
    person = next(iter(source.persons()))
    request = source.create_request("vacation", {
        "ФизическоеЛицо_Key": person.ref, "ДатаНачала": "2025-07-01T00:00:00",
        "ДатаОкончания": "2025-07-14T00:00:00", "КоличествоДней": 14,
    })
    documents = hooks("GET", "documents")
    assert request.ref in str(documents)
    assert source.request_status(request).status == "Рассматривается"
    hooks("POST", f"documents/{request.ref}/status", {"status": "Согласовано"})
    status = source.request_status(request)
    assert (status.status, status.number) == ("Согласовано", request.number)


def test_certificate_request_reports_its_processed_flag(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    source = make_source()
    person = next(iter(source.persons()))
    request = source.create_request("certificate_2ndfl", {"ФизическоеЛицо_Key": person.ref, "Год": 2025})
    assert source.request_status(request).status == "Рассматривается"
    hooks("POST", f"documents/{request.ref}/status", {"status": "Согласовано"})
    assert source.request_status(request).status == "ЗапросОбработан"


def test_unknown_request_kind_is_a_clear_error(make_source: Callable[..., ZupSource]) -> None:
    with pytest.raises(OneCConfigError, match="телепорт"):
        make_source().create_request("телепорт", {})


def test_vacation_balance_over_odata_agrees_with_1c_for_working_employees(
        zup: Any, make_source: Callable[..., ZupSource]) -> None:
    odata, soap = make_source(), make_source(mode="soap", url=zup.wsdl_url)
    working = [s for s in odata.employments() if s.hire_date and not s.dismissal_date][:40]
    assert working
    on_date = dt.date.today().replace(day=1)  # the date ZUP's remainder analytics is computed for
    for state in working:
        assembled = odata.vacation_balance(state.employee_ref, on_date)
        reported = soap.vacation_balance(state.employee_ref, on_date)
        assert assembled.days == pytest.approx(reported.days, abs=0.02)
        assert [k.kind for k in assembled.by_kind] == [k.kind for k in reported.by_kind]
