"""The places other features fill: filled by the feature's function when it is on, a note otherwise."""
from __future__ import annotations

from types import SimpleNamespace

from cabinet.slots import SLOTS, provider


def test_a_slot_is_filled_only_by_an_enabled_feature_that_offers_the_function() -> None:
    slot = SLOTS["employee_timesheets"]
    module = SimpleNamespace(timesheets_of_employee=lambda app, user_id: [{"title": "Март", "status": "утверждён"}])
    modules = {"timesheets.cabinet": module}

    def importer(name: str):  # type: ignore[no-untyped-def]
        if name not in modules:
            raise ModuleNotFoundError(name)
        return modules[name]

    assert provider(slot, ("sync_jobs",), importer) is None  # switched off
    assert provider(slot, ("timesheets",), importer)(None, user_id=5) == [{"title": "Март", "status": "утверждён"}]
    assert provider(SLOTS["timesheets_to_approve"], ("timesheets",), importer) is None  # not offered yet
    assert provider(SLOTS["onboarding_outreach"], ("outreach",), importer) is None  # no outreach.cabinet module
