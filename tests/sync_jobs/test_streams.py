"""Stream bookmarks: what changed since the last run, and the stored form."""
from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterator
from typing import Any

from onec.models import Department, Employee, EmploymentState, EmploymentType, LegalEntity, Person
from onec.source import FeedItem, SourcePosition
from sync_jobs.desired import (CLOSED_CATALOGS, CLOSED_PERSONS, GONE, DesiredState, DesiredStateBuilder,
                               EmployeeNumber)
from sync_jobs.settings import SyncSettings
from sync_jobs.store import pack_bookmark, unpack_bookmark
from sync_jobs.streams import READ_ORDER, STREAMS, Collected, Stream, deliver_streams


def pairs(bookmark: dict[int, int]) -> array:
    return array("Q", (number for pair in bookmark.items() for number in pair))


def test_changed_counts_added_changed_and_gone_records() -> None:
    previous = {1: 10, 2: 20, 3: 30, 4: 40}
    current = {1: 10, 2: 21, 4: 40, 5: 50, 6: 60}  # 2 changed, 3 gone, 5 and 6 added
    assert Stream.changed(pairs(current), pairs(previous)) == 4
    assert Stream.changed(pairs(current), pairs(current)) == 0
    assert Stream.changed(pairs(current), array("Q")) == len(current)


def test_bookmark_survives_storage_and_an_old_format_reads_as_empty() -> None:
    bookmark = pairs({2 ** 64 - 1: 7, 5: 2 ** 63})
    assert unpack_bookmark(pack_bookmark(bookmark)) == bookmark
    assert unpack_bookmark('{"old": "json"}') == array("Q")


def test_replica_codec_round_trips_every_kept_type_and_interns_refs() -> None:
    import datetime as dt

    from onec.models import EmploymentState, EmploymentType, Person
    from sync_jobs.replica import RecordCodec

    ref = "0f8fad5b-d9cb-469f-a165-70867728950e"
    states = [EmploymentState(ref, "1c6f3b7a-2b1e-4c5d-9e8f-0a1b2c3d4e5f", None, None, None,
                              dt.date(2024, 2, 29), None, EmploymentType.MAIN, 0.5),
              EmploymentState(ref.upper(), None, None, None, None, None, dt.date(2025, 1, 1), None, 1.0)]
    people = [Person(ref, "Иванова", "Анна", "", dt.date(1990, 5, 17), "anna@example.ru", None, None, None)]
    for records in (states, people):
        codec = RecordCodec(type(records[0]))
        decoded = codec.decode(codec.encode(records))
        assert decoded == records
    decoded_states = RecordCodec(EmploymentState).decode(RecordCodec(EmploymentState).encode(states * 2))
    assert decoded_states[0].employee_ref is decoded_states[2].employee_ref


def test_replica_of_other_fields_or_damaged_does_not_decode() -> None:
    import dataclasses
    import zlib

    import pytest

    from onec.models import Position
    from sync_jobs.replica import RecordCodec

    @dataclasses.dataclass(frozen=True)
    class PositionV2:
        ref: str
        name: str
        deleted: bool = False
        grade: int = 0

    stored = RecordCodec(Position).encode([Position("0f8fad5b-d9cb-469f-a165-70867728950e", "Кладовщик")])
    for data in (stored, zlib.compress(b"[1, 2]"), b"not zlib"):
        with pytest.raises(ValueError):
            RecordCodec(PositionV2).decode(data)


class FakeSource:
    """Just what read_streams touches of a ZupSource (pure logic: no 1C involved)."""

    concurrent_reads = 2
    position_from_read = False

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.closed = False

    def positions(self) -> list[object]:
        from onec.errors import OneCTimeout
        from onec.models import Position

        if self.fail:
            raise OneCTimeout("1C timeout")
        return [Position("0f8fad5b-d9cb-469f-a165-70867728950e", "Кладовщик")]

    def close(self) -> None:
        self.closed = True


def test_read_streams_closes_the_readers_it_opened_and_passes_the_first_error_on() -> None:
    import pytest

    from onec.errors import OneCTimeout
    from onec.models import Position
    from sync_jobs.streams import PositionStream, read_streams

    first, opened = FakeSource(), []

    def open_failing() -> FakeSource:
        opened.append(FakeSource(fail=True))
        return opened[-1]

    streams = [Stream(f"positions{n}", "ref", Position, PositionStream.read) for n in range(4)]
    with pytest.raises(OneCTimeout):
        read_streams(first, open_failing, streams)  # type: ignore[arg-type]
    assert opened and all(source.closed for source in opened) and not first.closed  # the caller owns `first`
    records = read_streams(FakeSource(), FakeSource, [PositionStream])  # type: ignore[arg-type]
    assert [p.name for p in records["positions"]] == ["Кладовщик"]


def test_stream_apply_upserts_keeps_and_deletes_by_key() -> None:
    from onec.models import Person
    from onec.source import ChangeSet
    from sync_jobs.streams import PersonStream

    def person(ref: str, last_name: str, deleted: bool = False) -> Person:
        return Person(ref, last_name, "Анна", "", None, None, None, "123-456-789 01", None, deleted)

    kept = {"a": person("a", "Старая"), "b": person("b", "Б"), "c": person("c", "В")}
    changes = ChangeSet(bookmark={}, upserts={"persons": (person("a", "Новая"), person("b", "Б", deleted=True),
                                                          person("d", "Г"))},
                        deletions={"persons": ("c",)})
    PersonStream.apply(kept, changes)
    assert sorted(kept) == ["a", "d"] and kept["a"].last_name == "Новая" and kept["a"].snils is None


def _state(employee: str, person: str, department: str = "d1") -> EmploymentState:
    return EmploymentState(employee, person, "o1", department, None, dt.date(2020, 1, 1), None,
                           EmploymentType.MAIN, 1.0)


def test_a_register_grouped_by_person_closes_a_person_once_another_follows() -> None:
    from sync_jobs.streams import PersonGroups

    groups = PersonGroups()
    assert groups.closed_by(["p1", "p1", "p2"]) == ["p1"]
    assert groups.closed_by(["p2"]) == []  # p2 may have more rows in the next chunk
    assert groups.closed_by(["p3", "p4"]) == ["p2", "p3"]
    assert groups.closed_by([]) == []


def test_a_person_is_decided_once_their_register_rows_are_closed_and_again_after_a_late_row() -> None:
    from onec.models import Department, LegalEntity, Person
    from sync_jobs.desired import CLOSED_PERSONS, DesiredStateBuilder, EmployeeNumber
    from sync_jobs.settings import SyncSettings

    builder = DesiredStateBuilder(SyncSettings(), dt.date(2026, 12, 4))
    builder.add("legal_entities", [LegalEntity("o1", "ООО Ромашка", "ООО Ромашка", "7700000000", None, "1")])
    builder.add("departments", [Department(ref, "o1", None, ref, f"Склад {ref}", False) for ref in ("d1", "d2")])
    for stream in ("legal_entities", "departments", "positions"):
        builder.mark_complete(stream)
    builder.add("persons", [Person(ref, "Иванов", "Иван", "", None, f"{ref}@example.org", None, None, None)
                            for ref in ("p1", "p2")])
    builder.add("employees", [EmployeeNumber(ref, ref.upper()) for ref in ("e1", "e2", "e3")])
    builder.add("employments", [_state("e1", "p1"), _state("e2", "p2")])
    assert builder.take_ready() == []  # neither person's rows are known to be complete
    builder.add(CLOSED_PERSONS, ["p1"])
    assert [user.key for user in builder.take_ready()] == ["p1"]  # before the register ended
    builder.add("employments", [_state("e3", "p1", "d2")])  # a row moved between pages comes late
    builder.mark_complete("employments")
    builder.mark_complete("employees")
    assert [user.key for user in builder.take_ready()] == ["p2"]
    desired = builder.finish()
    assert builder.take_ready() == []  # the late person is not planned as a new user
    assert [user.key for user in builder.take_revised()] == ["p1"]  # but planned again (Planner.revise)
    assert desired.users["p1"].groups == {"d1", "d2"} and set(desired.groups) == {"d1", "d2"}


def test_a_position_is_stored_as_the_same_json_written_piece_by_piece() -> None:
    import json
    import zlib

    from sync_jobs.replica import ENCODE_ROWS, compressed_json, compressed_json_parts

    versions = {f"key-{number}": f"v{number}" for number in range(ENCODE_ROWS * 2 + 3)}
    position = {"source": "zup «1»", "position": {"odata": {"persons": versions, "empty": {}, "legal": {"a": "b"}},
                                                  "version": 7}}
    assert zlib.decompress(compressed_json(position)) == json.dumps(
        position, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    parts = compressed_json_parts(position, 100)
    assert len(parts) > 2 and {len(part) for part in parts[:-1]} == {100}
    assert b"".join(parts) == compressed_json(position)
    assert compressed_json_parts({}, 100) == [compressed_json({})]


def _person(ref: str, last_name: str = "Иванов") -> Person:
    return Person(ref, last_name, "Иван", "", None, f"{ref}@example.org", None, None, None)


def _employee(ref: str, person: str) -> Employee:
    return Employee(ref, person, "o1", ref.upper(), ref, False, False)


ENTITY = LegalEntity("o1", "ООО Ромашка", "ООО Ромашка", "7700000000", None, "1")


def _department(ref: str, name: str = "") -> Department:
    return Department(ref, "o1", None, ref, name or f"Склад {ref}", False)


class _Feed:
    """A FeedWalk: the packages of one walk of the feed."""

    def __init__(self, packages: list[list[FeedItem]]) -> None:
        self.packages = packages

    def walk(self) -> Iterator[list[FeedItem]]:
        yield from self.packages

    def read_position(self) -> SourcePosition:
        return {"feed": {"version": len(self.packages)}}


def test_a_feed_walk_hands_out_each_package_and_announces_catalogs_persons_and_what_is_gone() -> None:
    feed = _Feed([
        [("legal_entities", "o1", ENTITY), ("departments", "d1", _department("d1")), ("persons", "p0", _person("p0"))],
        [("persons", "p1", _person("p1")), ("employees", "e1", _employee("e1", "p1")),
         ("employments", "e1", _state("e1", "p1")), ("persons", "p2", _person("p2"))],
        [("employments", "e2", _state("e2", "p2")), ("employees", "e2", _employee("e2", "p2")),
         ("persons", "p1", _person("p1", "Петров")), ("persons", "p0", None)],  # p1 changed, p0 deleted meanwhile
    ])
    delivered: list[tuple[str, list[Any] | None]] = []
    collected = Collected()

    def deliver(name: str, chunk: list[Any] | None) -> None:
        delivered.append((name, chunk))
        collected(name, chunk)

    assert deliver_streams(feed, lambda: None, deliver) == {"feed": {"version": 3}}
    signals = [(name, chunk) for name, chunk in delivered if name in (CLOSED_CATALOGS, CLOSED_PERSONS, GONE)]
    assert signals == [(CLOSED_CATALOGS, []), (CLOSED_PERSONS, ["p0", "p1"]),  # catalogs end at the first card
                       (GONE, [("persons", "p1"), ("persons", "p0")]), (CLOSED_PERSONS, ["p2"])]
    assert delivered[-6:] == [(stream.name, None) for stream in READ_ORDER]
    records = collected.result()
    assert [(person.ref, person.last_name) for person in records["persons"]] == [("p2", "Иванов"), ("p1", "Петров")]
    assert [state.employee_ref for state in records["employments"]] == ["e1", "e2"]


def _builder() -> DesiredStateBuilder:
    builder = DesiredStateBuilder(SyncSettings(), dt.date(2026, 12, 4))
    builder.add("legal_entities", [ENTITY])
    builder.add("departments", [_department("d1"), _department("d2")])
    builder.add(CLOSED_CATALOGS, [])
    return builder


def test_a_walk_decides_people_early_and_again_at_the_end_when_a_later_record_changes_them() -> None:
    builder = _builder()
    builder.add("persons", [_person("p1"), _person("p2"), _person("p3")])
    builder.add("employees", [EmployeeNumber(ref, ref.upper()) for ref in ("e1", "e2", "e3")])
    builder.add("employments", [_state("e1", "p1"), _state("e2", "p2"), _state("e3", "p3")])
    builder.add(CLOSED_PERSONS, ["p1", "p2", "p3"])
    assert [user.key for user in builder.take_ready()] == ["p1", "p2", "p3"]  # before any stream ended
    builder.add(GONE, [("employments", "e1")])  # e1's row changed in 1C during the walk: it comes again
    builder.add("employments", [_state("e1", "p1", "d2")])
    builder.add(GONE, [("persons", "p3")])  # p3 deleted in 1C during the walk
    for stream in STREAMS:
        builder.mark_complete(stream.name)
    desired = builder.finish()
    assert builder.take_ready() == []
    assert [user.groups for user in builder.take_revised()] == [{"d2"}]  # p1 planned again; p2 unchanged
    assert sorted(desired.users) == ["p1", "p2"]  # p3 is gone from 1C (Planner.finish)


def test_a_catalog_record_after_people_were_decided_decides_everyone_again() -> None:
    builder = _builder()
    builder.add("persons", [_person("p1"), _person("p2")])
    builder.add("employees", [EmployeeNumber(ref, ref.upper()) for ref in ("e1", "e2")])
    builder.add("employments", [_state("e1", "p1"), _state("e2", "p2", "d2")])
    builder.add(CLOSED_PERSONS, ["p1", "p2"])
    assert len(builder.take_ready()) == 2
    builder.add("departments", [_department("d2")])  # the same record again: nothing to decide again
    builder.add("departments", [_department("d2", "Склад у реки")])  # renamed in 1C during the walk
    for stream in STREAMS:
        builder.mark_complete(stream.name)
    builder.finish()
    assert [user.key for user in builder.take_revised()] == ["p2"]  # its UF_DEPARTMENT reads the new name


def test_revise_replaces_what_was_planned_for_a_person_and_returns_the_writes_still_needed() -> None:
    from sync_jobs.desired import DesiredGroup, DesiredUser
    from sync_jobs.plan import MappedUser, Planner

    mapped = {"p1": MappedUser("p1", 7, "old", frozenset({"d1"}), True)}
    planner = Planner(lambda key: None, mapped.get, lambda key: None, 1)
    groups = {key: DesiredGroup(key, {"NAME": key}, ()) for key in ("d1", "d2")}
    leaver = DesiredUser("p1", "Иванов И.", None, frozenset(), False, True)  # decided on a partial read
    planner.user(leaver)
    plan = planner.finish(DesiredState(groups, {"p1": leaver}), [])
    assert plan.deactivations and plan.membership_removes == {"d1": ["p1"]}
    moved = DesiredUser("p1", "Иванов И.", {"NAME": "Иван"}, frozenset({"d2"}), True, True)
    delta = planner.revise([moved], groups)
    assert [group.key for group in delta.group_creates] == ["d2"]
    assert [update.user for update in delta.user_updates] == [moved]
    assert plan.deactivations == [] and plan.removed_from_all == set()
    assert plan.membership_adds == {"d2": ["p1"]} and plan.membership_removes == {"d1": ["p1"]}
