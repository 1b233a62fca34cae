"""B24Client against the emulated portal over HTTP: calls, batches, limits, tokens, ambiguity."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from b24app.bitrix import B24Client, Command, RateLimits
from b24app.bitrix.errors import B24APIError, B24AuthFatal, B24MethodNotFound, B24TokenExpired

from .conftest import MemoryTokens, Portal


def new_user(n: int, prefix: str = "u") -> Command:
    return Command("user.add", {"NAME": f"Имя{n}", "LAST_NAME": f"Фамилия{n}", "EMAIL": f"{prefix}{n}@example.org",
                                "XML_ID": f"zup:{prefix}{n}", "UF_DEPARTMENT": [1]}, ref=n)


def find_by_xml_id(client: B24Client, xml_id: str) -> list[dict]:
    return client.call("user.get", {"FILTER": {"XML_ID": xml_id}, "ADMIN_MODE": True}).result


def test_call_returns_result_and_time(hook_client: B24Client) -> None:
    answer = hook_client.call("user.current")
    assert str(answer.result["ID"]) == "1"
    assert answer.time is not None and answer.time.operating is not None


def test_list_call_carries_total_and_next(portal: Portal, hook_client: B24Client) -> None:
    portal.seed_users(60)
    answer = hook_client.call("user.get", {"SORT": "ID", "ORDER": "ASC"})
    assert len(answer.result) == 50 and answer.total == 61 and answer.next == 50


def test_errors_are_typed_with_code_and_description(hook_client: B24Client) -> None:
    with pytest.raises(B24MethodNotFound) as caught:
        hook_client.call("no.such.method")
    assert caught.value.code == "ERROR_METHOD_NOT_FOUND" and caught.value.status == 404
    with pytest.raises(B24APIError) as caught:
        hook_client.call("user.update", {"ID": 999999, "NAME": "x"})
    assert caught.value.code == "ERROR_CORE" and caught.value.description


def test_mixed_batch_keeps_every_result_and_error(portal: Portal, hook_client: B24Client) -> None:
    user_id = portal.seed_users(1)[0]
    outcome = hook_client.batch({
        "me": ("user.current", None),
        "upd": ("user.update", {"ID": user_id, "WORK_POSITION": "R&D + QA", "PERSONAL_GENDER": None}),
        "bad": ("user.update", {"ID": 999999, "NAME": "x"}),
        "nomethod": ("no.such.method", {}),
        "read": ("user.get", {"FILTER": {"ID": user_id}}),
    })
    assert set(outcome.results) == {"me", "upd", "read"}
    assert outcome.results["read"][0]["WORK_POSITION"] == "R&D + QA"
    assert outcome.errors["bad"].code == "ERROR_CORE"
    assert outcome.errors["nomethod"].code == "ERROR_METHOD_NOT_FOUND"
    assert not outcome.unknown and outcome.totals["read"] == 1


def test_halt_reports_the_rest_as_skipped(hook_client: B24Client) -> None:
    outcome = hook_client.batch({"bad": ("no.such.method", {}), "later": ("user.current", None)}, halt=True)
    assert set(outcome.errors) == {"bad"} and outcome.skipped == ["later"]


def test_numeric_labels_are_refused(hook_client: B24Client) -> None:
    with pytest.raises(ValueError):
        hook_client.batch({"0": ("user.current", None)})


def test_pacing_keeps_the_portal_from_saying_503(portal: Portal, hook_client: B24Client) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:  # 400 calls from 16 threads: 8x the burst
        list(pool.map(lambda _: hook_client.call("user.current"), range(400)))
    counters = portal.counters()
    assert counters["requests"] >= 400 and counters["rejected_503"] == 0


def test_503_bursts_are_retried(limits: RateLimits) -> None:
    """The portal's clock moves 0.25 s per request, so its bucket (2 req/s) drains half a request per
    request: the burst fills it after 100 requests and then every other one is refused, however fast
    or busy the machine is."""
    from emulators.bitrix24 import ManualClock, serve

    running = serve(port=0, clock=ManualClock(per_request_s=0.25))
    portal = Portal(running)
    greedy = RateLimits(requests_per_s=limits.requests_per_s * 20, burst=500,
                        operating_budget_s=limits.operating_budget_s, window_s=limits.window_s)
    try:
        with B24Client(portal.webhook_url(), webhook=True, plan_limits=greedy, max_attempts=30) as client:
            with ThreadPoolExecutor(max_workers=16) as pool:
                answers = list(pool.map(lambda _: client.call("user.current"), range(400)))
        assert len(answers) == 400 and portal.counters()["rejected_503"] > 0
    finally:
        running.stop()


def test_injected_503_and_html_on_reads_are_retried(portal: Portal, hook_client: B24Client) -> None:
    portal.fault(kind="error", status=503, on_call=1)
    portal.fault(kind="html", status=502, on_call=3)
    assert [str(hook_client.call("user.current").result["ID"]) for _ in range(3)] == ["1"] * 3


def test_expired_token_refreshes_once(portal: Portal, tokens: MemoryTokens, app_client: B24Client) -> None:
    app_client.call("user.current")
    portal.hook("tokens/expire", {})
    assert str(app_client.call("user.current").result["ID"]) == "1"
    assert app_client.batch({"me": ("user.current", None)}).results["me"]["ID"]
    assert tokens.refreshes == 1


def test_eight_threads_with_an_expired_token_refresh_once(portal: Portal, tokens: MemoryTokens,
                                                         app_client: B24Client) -> None:
    portal.hook("tokens/expire", {})
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: app_client.call("user.current"), range(8)))
    assert len(answers) == 8 and tokens.refreshes == 1


def test_credentials_must_match_the_endpoint_kind(tokens: MemoryTokens) -> None:
    with pytest.raises(ValueError):
        B24Client("http://127.0.0.1:9/rest/")
    with pytest.raises(ValueError):
        B24Client("http://127.0.0.1:9/rest/1/x/", tokens=tokens, webhook=True)


def test_expired_again_after_refresh_is_raised(portal: Portal, tokens: MemoryTokens, limits: RateLimits) -> None:
    class AlwaysStale(MemoryTokens):
        def refresh(self, stale_token: str) -> str:
            self.refreshes += 1
            return stale_token

    stale = AlwaysStale.__new__(AlwaysStale)
    stale.__dict__.update(tokens.__dict__)
    portal.hook("tokens/expire", {})
    with B24Client(f"{portal.url}/rest/", tokens=stale, plan_limits=limits) as client:
        with pytest.raises(B24TokenExpired):
            client.call("user.current")
    assert stale.refreshes == 1


def test_invalid_token_is_fatal(portal: Portal, limits: RateLimits) -> None:
    class Forged:
        def current(self) -> str:
            return "f" * 70

        def refresh(self, stale_token: str) -> str:
            raise AssertionError("an invalid token must not be refreshed")

    with B24Client(f"{portal.url}/rest/", tokens=Forged(), plan_limits=limits) as client:
        with pytest.raises(B24AuthFatal) as caught:
            client.call("user.current")
    assert caught.value.code.lower() == "invalid_token"


def test_single_call_waits_for_the_operating_reset(portal: Portal, limits: RateLimits) -> None:
    """24 calls spend a window's budget (480 s / 20 s): a busy machine makes them within the (scaled)
    window as surely as a quiet one, so the portal refuses the 25th whatever the load."""
    portal.hook("method-times", {"user.update": 20.0})
    user_id = portal.seed_users(1)[0]
    blind = RateLimits(requests_per_s=limits.requests_per_s, burst=limits.burst,
                       operating_budget_s=1e9, window_s=limits.window_s)  # the client does not know the budget
    with B24Client(portal.webhook_url(), webhook=True, plan_limits=blind, max_attempts=50) as client:
        for n in range(60):
            client.call("user.update", {"ID": user_id, "WORK_POSITION": f"p{n}"})
    assert portal.counters()["rejected_429"] > 0 and portal.calls("user.update") == 60


def test_429_inside_batches_is_requeued_until_done(portal: Portal, limits: RateLimits) -> None:
    """A batch of 50 spends the budget (48 commands of 10 s) inside one request: refused commands
    come back in the same answer, whatever the machine's speed."""
    portal.hook("method-times", {"user.update": 10.0})
    ids = portal.seed_users(10)
    blind = RateLimits(requests_per_s=limits.requests_per_s, burst=limits.burst,
                       operating_budget_s=1e9, window_s=limits.window_s)
    commands = [Command("user.update", {"ID": ids[n % 10], "WORK_POSITION": f"p{n}"}) for n in range(100)]
    with B24Client(portal.webhook_url(), webhook=True, plan_limits=blind) as client:
        outcomes = list(client.run_commands(commands))
    assert [o.status for o in outcomes] == ["ok"] * 100
    assert portal.counters()["rejected_429"] > 0 and portal.calls("user.update") == 100


def test_timeout_after_user_add_gives_unknown_and_no_duplicate(portal: Portal, hook_client: B24Client,
                                                               limits: RateLimits) -> None:
    portal.fault(kind="timeout", method="batch", on_call=1, after=True, delay_s=3.0)
    with B24Client(portal.webhook_url(), webhook=True, plan_limits=limits, timeout=(5, 1)) as impatient:
        outcomes = list(impatient.run_commands([new_user(n) for n in range(5)]))  # 1 s < the portal's 3 s
    assert [o.status for o in outcomes] == ["unknown"] * 5
    assert portal.calls("user.add") == 5  # ran once on the portal, never resent
    assert all(len(find_by_xml_id(hook_client, f"zup:u{n}")) == 1 for n in range(5))


def test_ambiguous_failure_resends_only_idempotent_commands(portal: Portal, hook_client: B24Client) -> None:
    user_id = portal.seed_users(1)[0]
    portal.fault(kind="reset", method="batch", on_call=1, after=True)
    commands = [new_user(1), Command("user.update", {"ID": user_id, "WORK_POSITION": "x"}, ref="upd")]
    outcomes = {o.command.ref: o for o in hook_client.run_commands(commands)}
    assert outcomes[1].status == "unknown" and outcomes["upd"].status == "ok"
    assert portal.calls("user.add") == 1 and portal.calls("user.update") == 2


def test_run_commands_reports_per_command_errors(portal: Portal, hook_client: B24Client) -> None:
    portal.seed_users(1, prefix="u")  # u0@example.org exists already
    outcomes = {o.command.ref: o for o in hook_client.run_commands([new_user(n) for n in range(3)])}
    assert outcomes[0].status == "error" and outcomes[0].error.code
    assert outcomes[1].status == "ok" and int(outcomes[1].result) > 0


def test_interleaving_keeps_independent_methods_moving() -> None:
    """user.add spends its budget after 12 calls and waits for the window's end; the 300 updates (6
    batches) finish meanwhile. The portal's window is 20 s of real time (time scale 30), which those 6
    requests take on any machine, however busy."""
    from emulators.bitrix24 import serve

    running = serve(port=0, plan="standard", time_scale=30)
    portal = Portal(running)
    portal.hook("method-times", {"user.add": 40.0})  # 480 s / 40 s: 12 user.add per window, then blocked
    ids = portal.seed_users(5, prefix="seed")
    adds = [new_user(n) for n in range(14)]
    updates = [Command("user.update", {"ID": ids[n % 5], "WORK_POSITION": f"p{n}"}, ref=f"upd{n}")
               for n in range(300)]
    statuses: list[tuple[str, str]] = []
    adds_done_when_updates_finished = None
    try:
        with B24Client(portal.webhook_url(), webhook=True, plan_limits=RateLimits().scaled(30)) as client:
            for outcome in client.run_commands(adds + updates):
                statuses.append((outcome.command.method, outcome.status))
                if adds_done_when_updates_finished is None and \
                        sum(1 for method, _ in statuses if method == "user.update") == 300:
                    adds_done_when_updates_finished = sum(1 for method, _ in statuses if method == "user.add")
        assert all(status == "ok" for _, status in statuses) and len(statuses) == 314
        assert adds_done_when_updates_finished is not None and adds_done_when_updates_finished < 14
        assert portal.calls("user.add") == 14 and portal.calls("user.update") == 300
    finally:
        running.stop()
