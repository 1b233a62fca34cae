"""Full lists: the `start=-1` ID window for big lists, fast-bitrix24's `get_all` for the rest.

Both strategies fetch 2,500 rows per request (50 pages of 50 in one batch), but fast-bitrix24 pages
by offset (`start=50, 100, ...`), which makes the portal COUNT the table on every page and scan
`offset` rows, while the ID window (`>ID` = last seen ID, `start=-1`, pages chained inside one batch
with `$result[...]`) costs the portal one indexed range read per page (Bitrix24 REST docs: settings/performance/huge-data.md). The window
needs to know how a method spells its filter and ascending-ID order, hence `ID_WINDOWS`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import B24APIError
from .fb24 import fb24_get_all
from .pacing import BATCH_MAX

if TYPE_CHECKING:
    from .client import B24Client

PAGE_SIZE = 50
WINDOW_OWNED_KEYS = frozenset({"order", "sort", "start"})  # get_all sets these itself


@dataclass(frozen=True)
class IdWindow:
    """How a list method takes a filter and an ascending-ID order."""

    filter_key: str
    order: Mapping[str, Any] = field(default_factory=dict)
    id_field: str = "ID"


ID_WINDOWS: dict[str, IdWindow] = {
    "user.get": IdWindow("FILTER", {"SORT": "ID", "ORDER": "ASC"}),
    "sonet_group.get": IdWindow("FILTER", {"ORDER": {"ID": "ASC"}}),
}
"""List methods walked by ID window; others go through fast-bitrix24."""


def get_all(client: B24Client, method: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """Every row of `method` matching `params` (no `start`/order: rows come in ascending ID)."""
    window = ID_WINDOWS.get(method.lower())
    if window is None:
        return fb24_get_all(client, method, params)
    return _walk(client, method, dict(params or {}), window)


def _walk(client: B24Client, method: str, params: dict[str, Any], window: IdWindow) -> list[Any]:
    forbidden = [key for key in params if key.lower() in WINDOW_OWNED_KEYS]
    if forbidden:
        raise ValueError(f"get_all orders by ascending ID itself; drop {forbidden}")
    rows: list[Any] = []
    last_id: Any = 0
    while True:
        pages = _window_pages(client, method, params, window, last_id)
        for page in pages:
            rows += page
        if len(pages) < BATCH_MAX or len(pages[-1]) < PAGE_SIZE:
            return rows
        last_id = _advance(method, last_id, pages[-1][-1].get(window.id_field))


def _advance(method: str, last_id: Any, new_id: Any) -> int:
    """The next window start; a method that ignores the filter would loop forever, so stop it."""
    if new_id is None or int(new_id) <= int(last_id):
        raise B24APIError("", f"{method} ignored the ID filter (cursor stalled at {last_id})")
    return int(new_id)


def _window_pages(client: B24Client, method: str, params: dict[str, Any], window: IdWindow,
                  last_id: Any) -> list[list[Any]]:
    """One batch of 50 chained pages from `last_id`; returns the pages up to the first short one."""
    is_filter = window.filter_key.lower()
    filter_ = next((dict(value or {}) for key, value in params.items() if key.lower() == is_filter), {})
    rest = {key: value for key, value in params.items() if key.lower() != is_filter}
    commands = {}
    for number in range(BATCH_MAX):
        bound = last_id if number == 0 else f"$result[p{number - 1}][{PAGE_SIZE - 1}][{window.id_field}]"
        page_filter = {**filter_, f">{window.id_field}": bound}
        commands[f"p{number}"] = (method, {**rest, **window.order, window.filter_key: page_filter,
                                           "start": -1})
    outcome = client.batch(commands)
    if outcome.errors:
        raise next(iter(outcome.errors.values()))
    pages: list[list[Any]] = []
    for label in commands:
        page = outcome.results.get(label) or []
        pages.append(page)
        if len(page) < PAGE_SIZE:
            break
    return pages
