"""Pure parts: error classification, batch section parsing, pacing arithmetic (manual clock)."""
from __future__ import annotations

import pytest

from b24app.bitrix.client import _parse_batch
from b24app.bitrix.commands import is_idempotent
from b24app.bitrix.errors import (B24APIError, B24AuthFatal, B24OperationTimeLimit, B24QueryLimitExceeded,
                                  B24ServerError, B24TokenExpired, api_error, is_ambiguous)
from b24app.bitrix.pacing import OperatingGovernor, RateLimits, RequestPacer


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("code", "cls"), [
    ("QUERY_LIMIT_EXCEEDED", B24QueryLimitExceeded), ("query_limit_exceeded", B24QueryLimitExceeded),
    ("OPERATION_TIME_LIMIT", B24OperationTimeLimit), ("expired_token", B24TokenExpired),
    ("EXPIRED_TOKEN", B24TokenExpired), ("invalid_token", B24AuthFatal), ("invalid_grant", B24AuthFatal),
])
def test_codes_map_case_insensitively(code: str, cls: type) -> None:
    error = api_error(code, "d", status=400)
    assert type(error) is cls and error.code == code


def test_empty_code_keeps_description() -> None:
    error = api_error("", "Cannot create group")
    assert type(error) is B24APIError and error.code == "" and error.description == "Cannot create group"
    assert not is_ambiguous(error)


def test_unknown_5xx_is_an_ambiguous_server_error() -> None:
    assert is_ambiguous(api_error("SOMETHING", "x", status=502))
    assert isinstance(api_error("ERROR_CORE", "SQL", status=500), B24ServerError)


@pytest.mark.parametrize(("method", "safe"), [
    ("user.add", False), ("sonet_group.create", False), ("sonet_group.user.add", False),
    ("bizproc.workflow.start", False), ("user.update", True), ("user.get", True), ("USER.UPDATE", True),
    ("sonet_group.user.delete", True), ("batch", False),
])
def test_idempotency_by_method_name(method: str, safe: bool) -> None:
    assert is_idempotent(method) is safe


def test_list_shaped_sections_and_missing_labels() -> None:
    payload = {"result": {"a": 1}, "result_error": {"b": {"error": "", "error_description": "Not found"}},
               "result_total": [], "result_next": [], "result_time": []}
    outcome = _parse_batch(payload, ["a", "b", "c"], halt=False)
    assert outcome.results == {"a": 1}
    assert outcome.errors["b"].description == "Not found"
    assert outcome.unknown == ["c"] and outcome.skipped == []
    assert _parse_batch(payload, ["a", "b", "c"], halt=True).skipped == ["c"]


def test_numeric_keys_arrive_as_lists() -> None:
    outcome = _parse_batch({"result": [[{"ID": "1"}]], "result_error": [{"error": "X", "error_description": ""}]},
                           ["0"], halt=False)
    assert outcome.results == {"0": [{"ID": "1"}]} and outcome.errors["0"].code == "X"


def test_pacer_allows_the_burst_then_the_drain_rate() -> None:
    clock = ManualClock()
    pacer = RequestPacer(RateLimits(requests_per_s=2.0, burst=50), clock=clock)
    # headroom = 1 + 2 req/s x 0.05 s jitter: 48.9 of the portal's 50 slots are used at once
    delays = [pacer.reserve() for _ in range(48)]
    assert delays == [0.0] * 48
    assert pacer.reserve() == pytest.approx(0.05)
    assert pacer.reserve() == pytest.approx(0.55)
    for _ in range(50):
        pacer.answered()
    clock.now += 11  # 22 slots drained: 50 - 22 = 28 booked, 20 more fit under 48.9
    assert [pacer.reserve() for _ in range(20)] == [0.0] * 20


def test_pacer_does_not_drain_what_is_still_in_flight() -> None:
    """16 requests booked on a cold bucket and stalled before reaching the portal (a busy machine): the
    portal has not counted them, so time passing frees no slot for them until they are answered."""
    clock = ManualClock()
    pacer = RequestPacer(RateLimits(requests_per_s=200.0, burst=50), clock=clock)
    assert [pacer.reserve() for _ in range(16)] == [0.0] * 16
    clock.now += 0.1  # 20 slots' worth of drain while the 16 are still on their way
    assert [pacer.reserve() for _ in range(23)] == [0.0] * 23  # 16 + 23 = 39: no more at once
    assert pacer.reserve() > 0
    for _ in range(40):
        pacer.answered()
    clock.now += 0.25  # answered and drained: the bucket is cold again
    assert [pacer.reserve() for _ in range(39)] == [0.0] * 39


def test_pacer_headroom_grows_with_the_rate() -> None:
    pacer = RequestPacer(RateLimits(requests_per_s=200.0, burst=50), clock=ManualClock())
    delays = [pacer.reserve() for _ in range(39)]  # 50 - (1 + 200 x 0.05) = 39 slots at once
    assert delays == [0.0] * 39
    assert pacer.reserve() > 0


def test_pacer_after_a_503_goes_at_the_drain_rate() -> None:
    pacer = RequestPacer(RateLimits(requests_per_s=4.0, burst=50), clock=ManualClock())
    pacer.saturate()
    assert pacer.reserve() == pytest.approx(0.25)


def test_governor_allows_what_fits_in_the_budget() -> None:
    clock = ManualClock()
    governor = OperatingGovernor(RateLimits(operating_budget_s=10.0, window_s=600.0), clock=clock)
    assert governor.allowance("user.add") == 50
    governor.observe("user.add", operating=9.0, reset_in=30.0, cost=0.5)
    assert governor.allowance("user.add") == 3  # 1 s left / 0.5 s + the call that may cross the limit
    governor.observe("user.add", operating=10.5, reset_in=30.0, cost=0.5)
    assert governor.allowance("user.add") == 0 and governor.delay("user.add") == pytest.approx(30.0)
    assert governor.allowance("user.update") == 50  # budgets are per method
    clock.now += 30
    assert governor.allowance("user.add") == 50


def test_governor_block_waits_for_reset_or_probes() -> None:
    clock = ManualClock()
    governor = OperatingGovernor(RateLimits(window_s=600.0), clock=clock)
    governor.block("user.add")
    assert governor.delay("user.add") == pytest.approx(15.0)
    governor.observe("user.update", operating=1.0, reset_in=100.0, cost=0.1)
    governor.block("user.update")
    assert governor.delay("user.update") == pytest.approx(100.0)
