"""Stream bookmarks: what changed since the last run, and the stored form."""
from __future__ import annotations

import datetime as dt
from array import array

from onec.models import EmploymentState, EmploymentType
from sync_jobs.store import pack_bookmark, unpack_bookmark
from sync_jobs.streams import Stream


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
    assert groups.closed_by([_state("e1", "p1"), _state("e2", "p1"), _state("e3", "p2")]) == ["p1"]
    assert groups.closed_by([_state("e4", "p2")]) == []  # p2 may have more rows in the next chunk
    assert groups.closed_by([_state("e5", "p3"), _state("e6", "p4")]) == ["p2", "p3"]


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
    assert builder.take_ready() == []  # the late person is not planned twice in this run
    assert desired.users["p1"].groups == {"d1", "d2"} and set(desired.groups) == {"d1", "d2"}


def test_a_position_is_stored_as_the_same_json_written_piece_by_piece() -> None:
    import json
    import zlib

    from sync_jobs.replica import ENCODE_ROWS, compressed_json

    versions = {f"key-{number}": f"v{number}" for number in range(ENCODE_ROWS * 2 + 3)}
    position = {"source": "zup «1»", "position": {"odata": {"persons": versions, "empty": {}, "legal": {"a": "b"}},
                                                  "version": 7}}
    assert zlib.decompress(compressed_json(position)) == json.dumps(
        position, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
