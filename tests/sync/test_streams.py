"""Stream bookmarks: what changed since the last run, and the stored form."""
from __future__ import annotations

from array import array

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
