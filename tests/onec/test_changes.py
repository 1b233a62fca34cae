"""Change detection over OData: nothing changed -> nothing fetched; deltas rebuild the new state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from onec.odata_source import VERSIONED_KINDS
from onec.source import KINDS, ChangeSet, ZupSource


def key_of(record: Any) -> str:
    return record.employee_ref if hasattr(record, "employee_ref") else record.ref


def full_state(source: ZupSource) -> dict[str, dict[str, Any]]:
    return {kind: {key_of(record): record for record in getattr(source, kind)()} for kind in KINDS}


def apply(state: dict[str, dict[str, Any]], changes: ChangeSet) -> dict[str, dict[str, Any]]:
    result = {kind: dict(records) for kind, records in state.items()}
    for kind, records in changes.upserts.items():
        result[kind].update((key_of(record), record) for record in records)
    for kind, keys in changes.deletions.items():
        for key in keys:
            result[kind].pop(key, None)
    return result


def recording_session() -> tuple[requests.Session, list[str]]:
    """A real session that remembers the $filter of every request it sent."""
    session = requests.Session()
    filters: list[str] = []

    def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        query = parse_qs(urlsplit(response.request.url or "").query)
        filters.extend(query.get("$filter", []))

    session.hooks["response"].append(remember)
    return session, filters


def fetched_keys(filters: list[str]) -> set[str]:
    """Keys asked for by ``Ref_Key eq guid'…' or …`` batches."""
    return {term.split("guid'")[1].split("'")[0] for text in filters if text.startswith("Ref_Key eq guid'")
            for term in text.split(" or ")}


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """Keys of the kinds found by DataVersion (the others are scanned whole and compared by row hash)."""
    keys = set()
    for kind in VERSIONED_KINDS:
        before, after = old["odata"][kind], new["odata"][kind]
        keys |= {key for key, version in after.items() if before.get(key) != version}
    return keys


def test_no_changes_means_no_fetches(make_source: Callable[..., ZupSource]) -> None:
    bookmark = make_source().snapshot()
    session, filters = recording_session()
    changes = make_source(session=session).changes(bookmark)
    assert changes.count() == 0 and changes.complete
    assert fetched_keys(filters) == set()


def test_after_mutation_only_changed_keys_are_fetched(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    bookmark = make_source().snapshot()
    hooks("POST", "mutate", {"percent": 5.0, "seed": 3})
    session, filters = recording_session()
    changes = make_source(session=session).changes(bookmark)
    expected = changed_keys(bookmark, changes.bookmark)
    assert expected, "the mutation should change persons"
    assert fetched_keys(filters) == expected
    assert all(len(text.split(" or ")) <= 15 for text in filters)


def test_changes_rebuild_the_new_state(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    source = make_source()
    bookmark = source.snapshot()
    before = full_state(source)
    hooks("POST", "mutate", {"percent": 10.0, "seed": 5})
    changes = source.changes(bookmark)
    assert changes.upserts["employments"], "transfers and dismissals change the HR register"
    assert apply(before, changes) == full_state(source)
    assert source.changes(changes.bookmark).count() == 0


def test_empty_bookmark_returns_everything(make_source: Callable[..., ZupSource]) -> None:
    source = make_source()
    changes = source.changes({})
    state = full_state(source)
    for kind in KINDS:
        assert {key_of(record) for record in changes.upserts[kind]} == set(state[kind])


def test_physically_deleted_object_is_reported_as_deletion(zup: Any, make_source: Callable[..., ZupSource]) -> None:
    source = make_source()
    bookmark = source.snapshot()
    position = next(iter(source.positions()))
    response = requests.delete(f"{zup.odata_url}Catalog_Должности(guid'{position.ref}')",
                               auth=(zup.login.encode(), zup.password.encode()), timeout=10)
    assert response.status_code == 204
    changes = source.changes(bookmark)
    assert changes.deletions["positions"] == (position.ref,)
    assert changes.count() == 1


def test_the_position_of_a_full_read_is_where_changes_start(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    """A full read notes the version (or row hash) of every row it returned: changes after that position
    are nothing at first, and after a mutation they rebuild the new state from the read one."""
    source = make_source()
    before = full_state(source)
    position = source.read_position()
    assert position is not None and source.changes(position).count() == 0
    hooks("POST", "mutate", {"percent": 10.0, "seed": 5})
    assert apply(before, source.changes(position)) == full_state(source)
