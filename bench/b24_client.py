"""Throughput of `B24Client.run_commands` and `get_all` against the emulated portal, as JSON.

    python -m bench.b24_client [--adds 3000] [--updates 5000] [--users 5000] [--time-scale 100]

`bound_s` is the least time the portal's limits allow for the commands sent (see `bound_s()`);
`ratio_to_bound` = bound_s / wall_s (1.0 = as fast as Bitrix24 allows).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter
from functools import partial
from typing import Any

import requests

from b24app.bitrix import B24Client, Command, RateLimits
from b24app.bitrix.fb24 import fb24_get_all
from emulators.bitrix24 import serve

EMULATOR_SERVER_TIME_S = {"user.add": 0.4, "user.update": 0.05}  # emulator defaults (users.py)


def bound_s(calls: dict[str, int], limits: RateLimits, time_scale: float) -> dict[str, float]:
    """Least time for `calls` under the plan: the larger of the request bound and each method's bound.

    Request bound: ceil(n/50) requests, the first `burst` at once, then `requests_per_s`.
    Operating bound of a method: a window of `window_s` never holds more than `operating_budget_s` of
    its server time, so n*t seconds of work need ceil(n*t/L) windows; the last one starts after
    (ceil(n*t/L) - 1) * W ("step" bound). The fluid bound (n*t - L) * W / L is
    printed too; it is lower because it lets the budget drain continuously.
    """
    requests_needed = math.ceil(sum(calls.values()) / 50)
    request_bound = max(0.0, requests_needed - limits.burst) / limits.requests_per_s
    step = fluid = 0.0
    for method, count in calls.items():
        work = count * EMULATOR_SERVER_TIME_S[method] / time_scale
        windows = math.ceil(work / limits.operating_budget_s)
        step = max(step, (windows - 1) * limits.window_s)
        fluid = max(fluid, (work - limits.operating_budget_s) * limits.window_s / limits.operating_budget_s)
    return {"bound_s": max(request_bound, step), "fluid_bound_s": max(request_bound, fluid, 0.0),
            "request_bound_s": request_bound}


def _hook(url: str, path: str, body: dict[str, Any] | None = None, http: str = "POST") -> Any:
    response = requests.request(http, f"{url}/_emulator/{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def _seed(url: str, count: int) -> list[int]:
    users = [{"NAME": f"N{n}", "LAST_NAME": "L", "EMAIL": f"seed{n}@example.org"} for n in range(count)]
    return [int(user_id) for user_id in _hook(url, "users", users)["IDs"]]


def bench_writes(url: str, hook: str, time_scale: float, adds: int, updates: int) -> dict[str, Any]:
    limits = RateLimits().scaled(time_scale)
    ids = _seed(url, 50)
    commands = [Command("user.add", {"NAME": "N", "LAST_NAME": "L", "EMAIL": f"new{n}@example.org",
                                     "XML_ID": f"zup:{n}", "UF_DEPARTMENT": [1]}) for n in range(adds)]
    commands += [Command("user.update", {"ID": ids[n % 50], "WORK_POSITION": f"p{n}"}) for n in range(updates)]
    _hook(url, "counters/reset")
    started = time.perf_counter()
    with B24Client(hook, webhook=True, plan_limits=limits) as client:
        statuses = Counter(outcome.status for outcome in client.run_commands(commands))
    wall = time.perf_counter() - started
    counters = _hook(url, "counters", http="GET")
    bounds = bound_s({"user.add": adds, "user.update": updates}, limits, time_scale)
    return {"commands": len(commands), "statuses": dict(statuses), "wall_s": round(wall, 3),
            **{key: round(value, 3) for key, value in bounds.items()},
            "ratio_to_bound": round(bounds["bound_s"] / wall, 3) if wall else None,
            "commands_per_s": round(len(commands) / wall, 1), "rest_requests": counters["requests"],
            "rejected_503": counters["rejected_503"], "rejected_429": counters["rejected_429"]}


def bench_lists(url: str, hook: str, time_scale: float, users: int) -> dict[str, Any]:
    _seed(url, users)
    with B24Client(hook, webhook=True, plan_limits=RateLimits().scaled(time_scale)) as client:
        results = {}
        for name, strategy in (("id_window", client.get_all), ("fast_bitrix24", partial(fb24_get_all, client))):
            _hook(url, "counters/reset")
            started = time.perf_counter()
            rows = strategy("user.get")
            results[name] = {"rows": len(rows), "wall_s": round(time.perf_counter() - started, 3),
                             "rest_requests": _hook(url, "counters", http="GET")["requests"]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--adds", type=int, default=3000)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--time-scale", type=float, default=100.0)
    args = parser.parse_args()
    portal = serve(port=0, plan="standard", time_scale=args.time_scale)
    try:
        hook = _hook(portal.url, "webhooks", {"user_id": 1, "scopes": ["user", "department"]})["url"]
        report = {"time_scale": args.time_scale,
                  "writes": bench_writes(portal.url, hook, args.time_scale, args.adds, args.updates)}
        _hook(portal.url, "reset")
        hook = _hook(portal.url, "webhooks", {"user_id": 1, "scopes": ["user", "department"]})["url"]
        report["lists"] = bench_lists(portal.url, hook, args.time_scale, args.users)
    finally:
        portal.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
