"""Places in the cabinet's pages that other features fill, once they exist: the API hook.

A slot names the feature that fills it and the function the cabinet calls,
``<feature>.cabinet.<function>(app, **context) -> list[dict]``: rows ``{"title": str, "status": str,
"url": str | None, "open"?: {"page", "group_id", ...}}`` (Russian text; ``url`` a portal path to open, if
any; ``open`` a view of the cabinet the row leads to, e.g. ``{"page": "timesheets", "part": "approve",
"month": "2026-12", "group_id": 7}``). While the feature
is absent or switched off, the page shows the slot's note instead — a labelled place, never
made-up data.

| slot | filled by | context |
|---|---|---|
| ``employee_timesheets`` | ``timesheets.cabinet.timesheets_of_employee`` | ``user_id`` |
| ``timesheets_to_approve`` | ``timesheets.cabinet.timesheets_to_approve`` | ``user_id``, ``group_id`` |
| ``onboarding_outreach`` | ``outreach.cabinet.outreach_of_people`` | ``person_refs`` |
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from flask import Flask

from b24app.portal import get_config


@dataclass(frozen=True)
class Slot:
    feature: str
    function: str
    note: str  # shown while nothing fills the slot


SLOTS = {
    "employee_timesheets": Slot("timesheets", "timesheets_of_employee", "Табели появятся здесь с модулем табелей."),
    "timesheets_to_approve": Slot("timesheets", "timesheets_to_approve",
                                  "Табели на согласование появятся здесь с модулем табелей."),
    "onboarding_outreach": Slot("outreach", "outreach_of_people",
                                "История приглашений и напоминаний появится здесь с модулем рассылок."),
}


def provider(slot: Slot, enabled: Collection[str],
             importer: Callable[[str], Any] = importlib.import_module) -> Callable[..., list[dict]] | None:
    """The function that fills ``slot``: None while its feature is off or does not offer it yet."""
    if slot.feature not in enabled:
        return None
    try:
        module = importer(f"{slot.feature}.cabinet")
    except ModuleNotFoundError:
        return None
    return getattr(module, slot.function, None)


def fill(app: Flask, name: str, **context: Any) -> dict[str, Any]:
    """``{"available": True, "items": [...]}`` from the feature, or the slot's note."""
    slot = SLOTS[name]
    found = provider(slot, get_config(app).features)
    if found is None:
        return {"available": False, "note": slot.note}
    return {"available": True, "items": found(app, **context)}
