"""A sync over SOAP and OData at DEBUG: zeep's envelopes, urllib3's request lines and our own records
hold no webhook code, 1C password, СНИЛС, ИНН or full phone number of anybody synced."""
from __future__ import annotations

import io
import re
from typing import Any, Callable

import pytest
from flask import Flask

from sync_jobs import run_sync
from emulators.onec.schema import PERSONS
from tests.sync_jobs.conftest import Hooks


def _personal_data(zup_server: Any) -> set[str]:
    """СНИЛС, ИНН and phone numbers (digits only) of the emulated company's people, as 1C stores them."""
    table = zup_server.app.store.table(PERSONS)
    columns = [table.definition.index(name) for name in ("СтраховойНомерПФР", "ИНН")]
    found = {str(row[c]) for row in table.rows.values() for c in columns if row[c]}
    phones = set(re.findall(r"\+7\d{10}", str(list(table.rows.values()))))
    assert phones, "the emulated people have no phone numbers to look for"
    return found | phones | {phone[2:] for phone in phones}


@pytest.mark.parametrize("mode", ["soap", "odata"])
def test_a_sync_at_debug_logs_no_secret_or_personal_data(mode: str, make_app: Callable[..., Flask],
                                                          portal: Hooks, zup_server: Any, portal_server: Any,
                                                          debug_log: io.StringIO) -> None:
    app = make_app(mode)
    assert run_sync(app, full=True).status in ("ok", "partial")
    written = debug_log.getvalue()
    assert ("zeep" in written) if mode == "soap" else ("urllib3" in written or "bitrix24" in written)
    webhook_code = portal_server.webhook_url.rstrip("/").rsplit("/", 1)[-1]
    secrets = {webhook_code, zup_server.password}
    personal = _personal_data(zup_server)
    assert personal, "the emulated company has no personal data to look for"
    leaked = sorted(s[:4] + "…" for s in secrets | personal if s in written)
    assert not leaked, f"found in the log: {leaked}"
