"""Leaky bucket and operating time on an injected clock (REST docs: limits.md)."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from emulators.bitrix24 import ManualClock, RunningBitrix24, serve
from tests.emulators.bitrix24.conftest import call, hook


def test_burst_of_200_gets_503_after_the_50th(clocked_portal: RunningBitrix24) -> None:
    statuses = [call(clocked_portal, "server.time").status_code for _ in range(200)]
    assert statuses[:50] == [200] * 50
    assert statuses[50:] == [503] * 150
    refused = call(clocked_portal, "server.time")
    assert refused.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    assert hook(clocked_portal, "counters", http_method="GET")["rejected_503"] == 151


def test_client_throttled_at_two_per_second_sees_none(clocked_portal: RunningBitrix24, clock: ManualClock) -> None:
    statuses = []
    for _ in range(200):
        statuses.append(call(clocked_portal, "server.time").status_code)
        clock.advance(0.5)
    assert set(statuses) == {200}


def test_refused_requests_do_not_count(clocked_portal: RunningBitrix24, clock: ManualClock) -> None:
    for _ in range(60):
        call(clocked_portal, "server.time")
    clock.advance(0.5)  # drains exactly one request
    assert call(clocked_portal, "server.time").status_code == 200
    assert call(clocked_portal, "server.time").status_code == 503


def test_a_batch_counts_once(clocked_portal: RunningBitrix24) -> None:
    commands = {f"c{i}": "server.time" for i in range(50)}
    statuses = [call(clocked_portal, "batch", cmd=commands).status_code for _ in range(50)]
    assert statuses == [200] * 50
    assert call(clocked_portal, "server.time").status_code == 503


def test_enterprise_plan_bucket(clock: ManualClock) -> None:
    running = serve(port=0, plan="enterprise", clock=clock)
    try:
        statuses = [call(running, "server.time").status_code for _ in range(260)]
    finally:
        running.stop()
    assert statuses.count(200) == 250


@pytest.fixture
def heavy_portal(clock: ManualClock) -> Iterator[RunningBitrix24]:
    """No rate limit, operating limit 10 s, user.add charged 2 s."""
    running = serve(port=0, clock=clock, rate_limit=False, operating_limit_s=10)
    hook(running, "method-times", {"user.add": 2.0})
    yield running
    running.stop()


def _add(portal: RunningBitrix24, index: int) -> requests.Response:
    return call(portal, "user.add", EMAIL=f"h{index}@example.com", UF_DEPARTMENT=[1])


def test_operating_time_blocks_the_method_before_execution(heavy_portal: RunningBitrix24, clock: ManualClock) -> None:
    answers = [_add(heavy_portal, index) for index in range(7)]
    assert [answer.status_code for answer in answers] == [200] * 6 + [429]  # the 6th pushes it over and completes
    assert answers[-1].json() == {"error": "OPERATION_TIME_LIMIT",
                                  "error_description": "Method is blocked due to operation time limit."}
    last_ok = answers[5].json()["time"]
    assert last_ok["operating"] == pytest.approx(12.0)
    assert last_ok["operating_reset_at"] == int(answers[0].json()["time"]["start"]) + 600
    # whole seconds at time_scale 1 (REST docs: api-reference/data-types.md#time)
    assert isinstance(last_ok["operating_reset_at"], int)
    assert call(heavy_portal, "user.get", ID=2).status_code == 200  # other methods keep working
    assert hook(heavy_portal, "counters", http_method="GET")["rejected_429"] == 1
    assert len(call(heavy_portal, "user.get", FILTER={"EMAIL": "h6@example.com"}).json()["result"]) == 0
    clock.advance(601)
    assert _add(heavy_portal, 7).status_code == 200  # the buckets aged out


def test_blocked_command_inside_a_batch_is_a_result_error(heavy_portal: RunningBitrix24) -> None:
    commands = {f"u{i}": f"user.add?EMAIL=batch{i}%40example.com&UF_DEPARTMENT[]=1" for i in range(8)}
    body = call(heavy_portal, "batch", cmd=commands).json()["result"]
    assert set(body["result"]) == {f"u{i}" for i in range(6)}
    assert body["result_error"]["u6"]["error"] == "OPERATION_TIME_LIMIT"
    assert body["result_time"]["u5"]["operating"] == pytest.approx(12.0)


def test_short_calls_are_not_persisted(heavy_portal: RunningBitrix24) -> None:
    hook(heavy_portal, "method-times", {"user.get": 0.1})
    for _ in range(200):
        assert call(heavy_portal, "user.get", ID=1).status_code == 200
    assert call(heavy_portal, "user.get", ID=1).json()["time"]["operating"] == pytest.approx(0.1)


def test_budget_is_per_webhook(heavy_portal: RunningBitrix24) -> None:
    for index in range(7):
        _add(heavy_portal, index)
    other = hook(heavy_portal, "webhooks", {"user_id": 1})["url"]
    response = requests.post(other + "user.add", json={"EMAIL": "other@example.com", "UF_DEPARTMENT": [1]}, timeout=10)
    assert response.status_code == 200


def test_time_scale_runs_limits_faster(clock: ManualClock) -> None:
    running = serve(port=0, clock=clock, time_scale=10, operating_limit_s=10)
    try:
        hook(running, "method-times", {"user.add": 2.0})
        first = _add(running, 0).json()["time"]
        assert first["processing"] == pytest.approx(0.2)  # server time / K
        assert first["operating_reset_at"] == first["start"] + 60  # window / K, to the fraction of a second
        assert isinstance(first["operating_reset_at"], float)
        batch_time = call(running, "batch", cmd={"t": "server.time"}).json()["time"]
        assert batch_time["operating_reset_at"] == batch_time["start"] + 60
        for index in range(1, 6):
            _add(running, index)
        assert _add(running, 6).status_code == 429  # limit / K reached after the same number of calls
        clock.advance(61)
        assert _add(running, 7).status_code == 200
        statuses = []
        for _ in range(100):
            statuses.append(call(running, "server.time").status_code)
            clock.advance(0.05)  # 20 req/s = 2 req/s x 10
        assert set(statuses) == {200}
    finally:
        running.stop()
