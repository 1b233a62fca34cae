"""SOAP mode through zeep against the emulator's b24sync service; both modes agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from zeep import Client
from zeep.transports import Transport

from onec.cli import run_check
from onec.config import ConnectionConfig
from onec.errors import OneCAuthError
from onec.odata import utf8_basic_auth
from onec.soap import WSDL_PATH
from onec.source import KINDS, ZupSource


def key_of(record: Any) -> str:
    return record.employee_ref if hasattr(record, "employee_ref") else record.ref


def by_key(source: ZupSource, kind: str) -> dict[str, Any]:
    return {key_of(record): record for record in getattr(source, kind)()}


@pytest.fixture()
def soap(zup: Any, make_source: Callable[..., ZupSource]) -> ZupSource:
    return make_source(mode="soap", url=zup.wsdl_url)


@pytest.mark.parametrize("kind", KINDS)
def test_both_modes_return_equal_domain_objects(kind: str, soap: ZupSource,
                                                make_source: Callable[..., ZupSource]) -> None:
    from_odata = by_key(make_source(), kind)
    assert from_odata
    assert by_key(soap, kind) == from_odata


def test_feed_carries_kpp_inline(soap: ZupSource, make_source: Callable[..., ZupSource]) -> None:
    """Organisation items carry the КПП of their registration (docs/onec-extension.md)."""
    assert all(entity.kpp for entity in by_key(soap, "legal_entities").values())


def test_feed_changes_and_acknowledge(soap: ZupSource, hooks: Any) -> None:
    bookmark = soap.snapshot()
    assert soap.changes(bookmark).count() == 0
    hooks("POST", "mutate", {"percent": 5.0, "seed": 11})
    changes = soap.changes(bookmark)
    assert changes.count() > 0
    assert changes.bookmark["soap"]["version"] > bookmark["soap"]["version"]
    assert soap.changes(changes.bookmark).count() == 0


def test_feed_in_small_packages_reports_more_until_complete(zup: Any, soap: ZupSource,
                                                           make_source: Callable[..., ZupSource]) -> None:
    source = make_source(mode="soap", url=zup.wsdl_url, paging={"page_size": 50})
    employees: dict[str, Any] = {}
    changes = source.changes({})
    packages = 1
    while not changes.complete:
        employees.update((e.ref, e) for e in changes.upserts["employees"])
        changes = source.changes(changes.bookmark)
        packages += 1
    employees.update((e.ref, e) for e in changes.upserts["employees"])
    assert packages > 2
    assert employees == by_key(soap, "employees")


def test_vacation_balance_over_soap(soap: ZupSource, make_source: Callable[..., ZupSource]) -> None:
    employee = next(iter(make_source().employees()))
    balance = soap.vacation_balance(employee.ref, dt.date(2025, 6, 1))
    assert balance.employee_ref == employee.ref
    assert balance.as_of == dt.date(2025, 6, 1)
    assert balance.days == pytest.approx(sum(kind.days for kind in balance.by_kind))


def test_soap_wrong_password(zup: Any, make_source: Callable[..., ZupSource],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRONG_PASSWORD", "неверный")
    source = make_source(mode="soap", url=zup.wsdl_url, password_env="WRONG_PASSWORD")
    with pytest.raises(OneCAuthError):
        source.changes({})


def test_check_in_soap_mode(zup: Any, connection: dict[str, Any]) -> None:
    config = ConnectionConfig.from_dict({**connection, "mode": "soap", "url": zup.wsdl_url})
    assert run_check(config) == 0


def wsdl_contract(client: Client) -> dict[str, Any]:
    """Bindings -> operation -> (soapAction, input element, output element)."""
    return {
        binding.name.localname: {
            name: (op.soapaction, str(op.input.body.qname), str(op.output.body.qname))
            for name, op in binding._operations.items()
        }
        for binding in client.wsdl.bindings.values()
    }


def test_bundled_wsdl_matches_the_published_one(zup: Any) -> None:
    session = requests.Session()
    session.auth = utf8_basic_auth(zup.login, zup.password)
    published = Client(zup.wsdl_url, transport=Transport(session=session))
    bundled = Client(str(WSDL_PATH))
    assert wsdl_contract(bundled) == wsdl_contract(published)
    assert set(wsdl_contract(bundled)) == {"B24SyncSoapBinding", "B24SyncSoap12Binding"}


def test_acknowledged_deletions_are_forgotten_and_a_full_walk_still_has_every_object(
        zup: Any, soap: ZupSource, hooks: Any, make_source: Callable[..., ZupSource]) -> None:
    from emulators.onec.schema import PERSONS

    bookmark = soap.snapshot()
    person = next(iter(soap.persons()))
    with zup.app.lock:
        zup.app.store.delete(PERSONS, person.ref)
    changes = soap.changes(bookmark)
    assert changes.deletions["persons"] == (person.ref,)
    soap.changes(changes.bookmark)  # the position is persisted: acknowledged
    assert hooks("GET", "feed")["acknowledged"] == changes.bookmark["soap"]["version"]
    assert soap.changes(bookmark, acknowledge=False).count() == 0  # the deletion is forgotten
    assert by_key(soap, "persons") == by_key(make_source(), "persons")  # every live object, none deleted
    assert person.ref not in by_key(soap, "persons")


def test_a_position_1c_does_not_know_is_refused(soap: ZupSource, hooks: Any) -> None:
    from onec.errors import OneCFeedPositionUnknown

    ahead = {"soap": {"version": hooks("GET", "feed")["version"] + 1000}}
    with pytest.raises(OneCFeedPositionUnknown):
        soap.changes(ahead)
    assert soap.changes(ahead, acknowledge=False).count() == 0  # nothing to read: why it must be refused
