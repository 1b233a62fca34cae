"""The 1C:ZUP -> Bitrix24 sync against both emulators, as one JSON object (see bench/README.md).

    python -m bench.sync --employees 50000 --time-scale 100 [--naive-sample 400]

Each emulator runs in its own subprocess, so `peak_rss_mb` (this process's peak RSS so far) is the
sync's own. Phases: `full` (first sync into an empty portal), `incremental` (after 1 % changes in
1C), `no_change` (again, nothing changed), `naive` (one fast-bitrix24 call per record, measured on a
sample and extrapolated linearly to the users the full run invited).
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import yaml

from b24app import create_app
from b24app.bitrix import RateLimits
from b24app.config import generate_token_key, load_config
from b24app.db import get_db, upgrade_schema

WRITE_VERBS = ("add", "update", "delete", "create", "setowner")
BATCH = 50


def server_times() -> dict[str, float]:
    """The emulator's default server time per method (what the portal charges to the budget)."""
    import emulators.bitrix24  # noqa: F401  registers the methods
    from emulators.bitrix24.registry import METHODS

    return {name: spec.server_time_s for name, spec in METHODS.items()}


def bound_s(calls: dict[str, int], time_scale: float, per_request: int = BATCH) -> dict[str, float]:
    """Least time the standard plan allows for `calls` (bench/README.md "The bound").

    `bound_s` = max(request bound, each method's step bound): a method's budget frees one window at a
    time, so n*t seconds of its work cannot finish before (ceil(n*t/L) - 1) * W. `fluid_bound_s`
    lets the budget drain continuously ((n*t - L) * W / L, b24-transport §5.4); it is lower.
    """
    limits = RateLimits().scaled(time_scale)
    times = server_times()
    requests_needed = math.ceil(sum(calls.values()) / per_request)
    request_bound = max(0.0, requests_needed - limits.burst) / limits.requests_per_s
    step = fluid = 0.0
    for method, count in calls.items():
        work = count * times.get(method, 0.02) / time_scale
        step = max(step, (math.ceil(work / limits.operating_budget_s) - 1) * limits.window_s)
        fluid = max(fluid, (work - limits.operating_budget_s) * limits.window_s / limits.operating_budget_s)
    return {"bound_s": round(max(request_bound, step), 2), "fluid_bound_s": round(max(request_bound, fluid), 2),
            "request_bound_s": round(request_bound, 2)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def emulator(module: str, args: list[str], marker: str) -> Iterator[str]:
    """Start `module`'s click command in a subprocess; yield the value printed after `marker`."""
    process = subprocess.Popen([sys.executable, "-c", f"from {module} import command; command()", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        value = ""
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith(marker):
                value = line[len(marker):].strip()
                break
        yield value
    finally:
        process.kill()
        process.wait()


def hook(base: str, path: str, body: Any = None, method: str = "POST") -> Any:
    response = requests.request(method, f"{base}/_emulator/{path}", json=body, timeout=600)
    response.raise_for_status()
    return response.json() if response.content else None


def write_calls(counters: dict[str, Any]) -> dict[str, int]:
    return {m: int(v["calls"]) for m, v in counters["by_method"].items() if m.rsplit(".", 1)[-1] in WRITE_VERBS}


def measure(portal: str, employees: int, time_scale: float, run: Any) -> dict[str, Any]:
    hook(portal, "counters/reset")
    started = time.monotonic()
    extra = run()
    wall = time.monotonic() - started
    counters = hook(portal, "counters", method="GET")
    writes = write_calls(counters)
    bounds = bound_s(writes, time_scale)
    return {"employees": employees, "wall_s": round(wall, 2), "rest_requests": counters["requests"],
            "write_commands": sum(writes.values()), "writes_by_method": writes, **bounds,
            "ratio_to_bound": round(bounds["bound_s"] / wall, 3) if wall else None,
            "ratio_to_fluid_bound": round(bounds["fluid_bound_s"] / wall, 3) if wall else None,
            "peak_rss_mb": round(peak_rss_mb(), 1), **extra}


def make_app(workdir: Path, webhook: str, odata_url: str, time_scale: float) -> Any:
    database = f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade_schema(database)
    data = {"mode": "webhook", "bitrix24": {"plan": "standard", "time_scale": time_scale}, "app": {"public_url": "http://127.0.0.1:5000"},
            "onec": {"connections": [{"name": "zup", "mode": "odata", "url": odata_url, "login": "Администратор",
                                      "password_env": "BENCH_ONEC_PASSWORD"}]},
            "sync": {"grace_days": 0, "max_deactivate_percent": 100}}
    path = workdir / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {"B24_WEBHOOK_URL": webhook, "BENCH_ONEC_PASSWORD": "Пароль123", "SECRET_KEY": "bench",
           "B24APP_TOKEN_KEY": generate_token_key(), "DATABASE_URL": database}
    return create_app(load_config(path, env=env))


def naive(portal: str, webhook: str, records: int, sample: int, time_scale: float) -> dict[str, Any]:
    """A hand-written script: fast-bitrix24, one call per record (user.add), no batching.

    Measured on `sample` records (more than the initial burst, so the steady request rate shows),
    then extrapolated linearly from the second half of the sample: wall(N) = wall(sample) +
    (N - sample) * marginal, marginal = (wall(sample) - wall(sample / 2)) / (sample - sample / 2).
    """
    from fast_bitrix24 import Bitrix

    hook(portal, "reset")
    limits = RateLimits().scaled(time_scale)
    # fast-bitrix24's operating-time throttle times requests on a real 600 s window (it cannot follow the
    # time scale), so it gets the real 480 s; the portal's scaled limit still applies
    bitrix = Bitrix(webhook, requests_per_second=limits.requests_per_s, request_pool_size=limits.burst,
                    operating_time_limit=int(RateLimits().operating_budget_s), verbose=False)
    group = bitrix.call("sonet_group.create", {"NAME": "Naive", "SITE_ID": ["s1", "co"]}, raw=True)["result"]
    half: list[float] = []

    def run() -> dict[str, Any]:
        started = time.monotonic()
        for number in range(sample):
            if number == sample // 2:
                half.append(time.monotonic() - started)
            bitrix.call("user.add", {"NAME": "N", "LAST_NAME": f"L{number}", "EMAIL": f"n{number}@example.org",
                                     "EXTRANET": "Y", "SONET_GROUP_ID": [group]}, raw=True)
        return {}

    measured = measure(portal, sample, time_scale, run)
    marginal = (measured["wall_s"] - half[0]) / (sample - sample // 2)
    wall = measured["wall_s"] + (records - sample) * marginal
    bounds = bound_s({"user.add": records}, time_scale, per_request=1)
    return {"records": records, "wall_s": round(wall, 1), "rest_requests": records, "write_commands": records,
            **bounds, "ratio_to_bound": round(bounds["bound_s"] / wall, 3), "peak_rss_mb": measured["peak_rss_mb"],
            "sample": sample, "sample_wall_s": measured["wall_s"], "sample_rest_requests": measured["rest_requests"],
            "marginal_s_per_record": round(marginal, 5),
            "formula": f"wall = {measured['wall_s']} + ({records} - {sample}) * {marginal:.5f}",
            "note": "one fast-bitrix24 call (user.add) per record, measured on the sample and extrapolated "
                    "linearly to the users the full run invited; it does less than the sync (no forced "
                    "group membership, no groups) and the extrapolation ignores its operating-time limit, "
                    "so the speed-up is a lower estimate"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--naive-sample", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    from sync_jobs import run_sync

    departments = max(40, options.employees // 60)
    spec = f"employees={options.employees},orgs=3,departments={departments}"
    bitrix_args = ["--port", "0", "--time-scale", str(options.time_scale)]
    port = _free_port()
    with emulator("emulators.bitrix24.cli", ["--port", str(port), *bitrix_args[2:]],
                  "Входящий вебхук администратора:") as webhook, \
            emulator("emulators.onec.cli", ["--port", str(_free_port()), "--generate", spec,
                                            "--seed", str(options.seed)], "odata:") as odata_url, \
            tempfile.TemporaryDirectory() as workdir:
        portal = f"http://127.0.0.1:{port}"
        onec = odata_url.split("/zup/", 1)[0]
        app = make_app(Path(workdir), webhook, odata_url, options.time_scale)
        result: dict[str, Any] = {}

        def sync(full: bool) -> Any:
            return lambda: _counts(run_sync(app, full=full))

        result["full"] = _report("full", measure(portal, options.employees, options.time_scale, sync(True)))
        changes = hook(onec, "mutate", {"percent": 1.0, "seed": options.seed + 1})
        result["incremental"] = measure(portal, options.employees, options.time_scale, sync(False))
        result["incremental"]["changed_records"] = sum(v for k, v in changes.items() if k != "change_version")
        _report("incremental", result["incremental"])
        result["no_change"] = _report("no_change", measure(portal, options.employees, options.time_scale,
                                                           sync(False)))
        get_db(app).dispose()
        invited = result["full"]["writes_by_method"].get("user.add", 0)
        result["naive"] = naive(portal, webhook, invited, options.naive_sample, options.time_scale)
        result["speedup_full_vs_naive"] = round(result["naive"]["wall_s"] / result["full"]["wall_s"], 2)
    print(json.dumps(result, ensure_ascii=False))


def _report(phase: str, measured: dict[str, Any]) -> dict[str, Any]:
    """Progress on stderr (the JSON on stdout stays one object)."""
    print(phase, json.dumps(measured, ensure_ascii=False), file=sys.stderr, flush=True)
    return measured


def _counts(summary: Any) -> dict[str, Any]:
    return {"status": summary.status, "users_created": summary.counts.get("users_created", 0)}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
