"""The 1C:ZUP -> Bitrix24 sync against both emulators, as one JSON object (see bench/README.md).

    python -m bench.sync --employees 50000 --time-scale 100 [--naive-sample 2000] [--onec-mode soap]

The emulators run in subprocesses, and every phase in a fresh process of its own, so `peak_rss_mb`
(VmHWM) is that phase's own peak. Phases: `full` (first sync into an empty portal), `incremental`
(after 1 % changes in 1C), `no_change` (again, nothing changed), `naive` / `naive_incremental` (a
hand-written script, one fast-bitrix24 call per group, user and membership; the full run measured
on a sample and extrapolated, the incremental run measured in full).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

from b24app.bitrix import RateLimits
from b24app.config import generate_token_key
from b24app.db import get_db
from service import create_app, load_config, upgrade_schema

T = TypeVar("T")
MARKERS = {"odata": "odata", "soap": "wsdl"}  # what the 1C emulator prints before each URL
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
    lets the budget drain continuously ((n*t - L) * W / L); it is lower.
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


def ratio(bound: float, wall: float) -> float | None:
    """bound / wall; None when the portal's limits do not bound the phase (its writes fit in the first budget)."""
    return round(bound / wall, 3) if bound and wall else None


def peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM belongs to the address space, so a fresh process starts at zero
    (``ru_maxrss`` is a process high-water mark that also survives fork + exec)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (the bench needs Linux)")


def in_fresh_process(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a new interpreter (spawn): a phase's memory is its own, not what earlier
    phases left in this process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


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


def measure(portal: str, employees: int, time_scale: float, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Counters and bounds of ``run()``, which returns at least its ``wall_s`` and ``peak_rss_mb``."""
    hook(portal, "counters/reset")
    outcome = dict(run())
    wall, peak = outcome.pop("wall_s"), outcome.pop("peak_rss_mb")
    counters = hook(portal, "counters", method="GET")
    writes = write_calls(counters)
    bounds = bound_s(writes, time_scale)
    return {"employees": employees, "wall_s": round(wall, 2), "rest_requests": counters["requests"],
            "write_commands": sum(writes.values()), "writes_by_method": writes, **bounds,
            "ratio_to_bound": ratio(bounds["bound_s"], wall), "ratio_to_fluid_bound": ratio(bounds["fluid_bound_s"], wall),
            "peak_rss_mb": round(peak, 1), **outcome}


@dataclass(frozen=True)
class Workspace:
    """What a phase process needs to build the app on the shared database."""

    workdir: str
    webhook: str
    onec_mode: str
    onec_url: str
    time_scale: float
    token_key: str


def make_app(space: Workspace) -> Any:
    workdir = Path(space.workdir)
    database = f"sqlite:///{workdir / 'bench.sqlite3'}"
    upgrade_schema(database)
    data = {"mode": "webhook", "bitrix24": {"plan": "standard", "time_scale": space.time_scale},
            "app": {"public_url": "http://127.0.0.1:5000"},
            "onec": {"connections": [{"name": "zup", "mode": space.onec_mode, "url": space.onec_url, "login": "Администратор",
                                      "password_env": "BENCH_ONEC_PASSWORD"}]},
            "sync": {"grace_days": 0, "max_deactivate_percent": 100}}
    path = workdir / "app.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {"B24_WEBHOOK_URL": space.webhook, "BENCH_ONEC_PASSWORD": "Пароль123", "SECRET_KEY": "bench",
           "B24APP_TOKEN_KEY": space.token_key, "DATABASE_URL": database}
    return create_app(load_config(path, env=env))


def sync_phase(space: Workspace, full: bool) -> dict[str, Any]:
    """One sync run (run in a fresh process): wall time, the process's own peak RSS, the run's counts."""
    from sync_jobs import run_sync

    app = make_app(space)
    started = time.monotonic()
    summary = run_sync(app, full=full)
    wall = time.monotonic() - started
    get_db(app).dispose()
    first_write = None if summary.first_write_s is None else round(summary.first_write_s, 2)
    return {"wall_s": wall, "peak_rss_mb": peak_rss_mb(), "status": summary.status,
            "write_s": round(summary.write_s, 2), "first_write_s": first_write, "counts": summary.counts}


# -- the naive baseline ----------------------------------------------------------------------------

def naive_calls(counts: dict[str, int]) -> dict[str, int]:
    """The calls a hand-written script makes for what a sync run did: one per group, user, membership."""
    return {"sonet_group.create": counts.get("groups_created", 0),
            "sonet_group.update": counts.get("groups_updated", 0),
            "user.add": counts.get("users_created", 0),
            "user.update": sum(counts.get(name, 0) for name in ("users_updated", "users_reactivated",
                                                                "users_deactivated")),
            "sonet_group.user.add": counts.get("memberships_added", 0),
            "sonet_group.user.delete": counts.get("memberships_removed", 0)}


class NaiveScript:
    """A hand-written script: fast-bitrix24, ``call()`` once per record and method, no batching.

    fast-bitrix24's operating-time throttle adds up the *cumulative* ``time.operating`` of every answer
    as if it were that call's duration and times it on a real 600 s window (settings/performance/limits.md): it
    believes the budget is spent after ~sqrt(2·480/t) calls (490 user.add at time scale 100, checked)
    and then sleeps ten real minutes: the "hang" of samples of 600–1000 records. It is switched off
    (a limit it never reaches; ``respect_velocity_policy=False`` crashes with a KeyError); the portal's
    own scaled limits apply unchanged and a 429 would stop the bench. The leaky bucket gets the scaled
    rate.
    """

    def __init__(self, webhook: str, time_scale: float) -> None:
        from fast_bitrix24 import Bitrix

        limits = RateLimits().scaled(time_scale)
        self.bitrix = Bitrix(webhook, requests_per_second=limits.requests_per_s, request_pool_size=limits.burst,
                             operating_time_limit=10 ** 9, verbose=False)
        self.groups: list[int] = []
        self.users: list[int] = []
        self.sent = 0

    def call(self, method: str, params: dict[str, Any]) -> Any:
        self.sent += 1
        return self.bitrix.call(method, params, raw=True)["result"]

    def run(self, calls: dict[str, int], on_call: Callable[[int], None] = lambda sent: None) -> None:
        """Per group its create, per user its user.add then its membership; then updates and removals."""
        for number in range(calls["sonet_group.create"]):
            self.groups.append(int(self.call("sonet_group.create", {"NAME": f"Naive {len(self.groups)}",
                                                                    "SITE_ID": ["s1", "co"]})))
            on_call(self.sent)
        work = [(method, number) for method in ("sonet_group.update", "user.add", "sonet_group.user.add",
                                                "user.update", "sonet_group.user.delete")
                for number in range(calls[method])]
        work.sort(key=lambda item: item[1])  # record by record, as a script loops over its records
        for method, number in work:
            result = self.call(method, self.params(method, number))
            if method == "user.add":
                self.users.append(int(result))
            on_call(self.sent)

    def params(self, method: str, number: int) -> dict[str, Any]:
        group = self.groups[number % len(self.groups)]
        if method == "sonet_group.update":
            return {"GROUP_ID": group, "NAME": f"Naive {number} *"}
        if method == "user.add":
            index = len(self.users)
            return {"NAME": "N", "LAST_NAME": f"L{index}", "EMAIL": f"n{index}@example.org", "EXTRANET": "Y",
                    "SONET_GROUP_ID": [self.groups[index % len(self.groups)]]}
        user = self.users[number % len(self.users)]
        if method == "user.update":
            return {"ID": user, "WORK_POSITION": f"P{number}"}
        return {"GROUP_ID": group, "USER_ID": user}


def naive_phase(portal: str, webhook: str, time_scale: float, sample: int,
                full_calls: dict[str, int], incremental_calls: dict[str, int]) -> dict[str, Any]:
    """The naive script (run in a fresh process): a sample of the full run's calls, then the incremental
    run's calls in full, each measured with the portal's counters."""
    hook(portal, "reset")
    script = NaiveScript(webhook, time_scale)
    users = max(1, full_calls["user.add"])
    sample_calls = {method: math.ceil(count * sample / users) for method, count in full_calls.items()}
    half_at = sum(sample_calls.values()) // 2
    marks: dict[str, float] = {}

    def mark_half(sent: int) -> None:
        if sent == half_at:
            marks["half"] = time.monotonic()

    def timed(calls: dict[str, int], on_call: Callable[[int], None]) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            marks["start"] = time.monotonic()
            script.run(calls, on_call)
            return {"wall_s": time.monotonic() - marks["start"], "peak_rss_mb": peak_rss_mb()}
        return run

    measured = measure(portal, sample, time_scale, timed(sample_calls, mark_half))
    half_wall = marks["half"] - marks["start"]
    incremental = measure(portal, 0, time_scale, timed(incremental_calls, lambda sent: None))
    return {"sample": measured, "half_calls": half_at, "half_wall_s": half_wall, "incremental": incremental}


def naive_report(measured: dict[str, Any], full: dict[str, Any], full_calls: dict[str, int],
                 time_scale: float) -> dict[str, Any]:
    """The naive full run extrapolated from its sample per call (every call is one request):

    wall = read_and_plan + sample_wall + (N - n) * (sample_wall - half_wall) / (n - n_half)
    """
    sample, read_and_plan_s = measured["sample"], full["wall_s"] - full["write_s"]
    calls, sent, half = sum(full_calls.values()), sample["write_commands"], measured["half_calls"]
    marginal = (sample["wall_s"] - measured["half_wall_s"]) / (sent - half)
    wall = read_and_plan_s + sample["wall_s"] + (calls - sent) * marginal
    bounds = bound_s(full_calls, time_scale, per_request=1)
    return {"employees": full["employees"], "wall_s": round(wall, 1), "rest_requests": calls,
            "write_commands": calls, "writes_by_method": full_calls, **bounds,
            "ratio_to_bound": round(bounds["bound_s"] / wall, 3), "peak_rss_mb": sample["peak_rss_mb"],
            "sample": sample, "marginal_s_per_call": round(marginal, 5),
            "formula": (f"wall = read_and_plan {read_and_plan_s:.2f} + sample {sample['wall_s']} + "
                        f"({calls} - {sent}) calls * {marginal:.5f} s (marginal over calls {half}..{sent})"),
            "note": NAIVE_NOTE}


def naive_incremental_report(measured: dict[str, Any], incremental: dict[str, Any]) -> dict[str, Any]:
    """The incremental run's calls one by one, measured in full, plus the same 1C read and plan;
    ``writes_speedup``: the sync's write time against these calls alone."""
    writes, read_and_plan_s = measured["incremental"], incremental["wall_s"] - incremental["write_s"]
    return {**writes, "employees": incremental["employees"], "wall_s": round(read_and_plan_s + writes["wall_s"], 2),
            "writes_wall_s": writes["wall_s"],
            "writes_speedup": round(writes["wall_s"] / incremental["write_s"], 1) if incremental["write_s"] else None,
            "formula": f"wall = read_and_plan {read_and_plan_s:.2f} + measured calls {writes['wall_s']}"}


NAIVE_NOTE = ("hand-written script: fast-bitrix24 call() once per group create, per user (user.add / user.update) "
              "and per membership change, no batching, no moderators; the sync's own 1C read and plan "
              "(its wall_s - write_s) is added. fast-bitrix24's operating-time throttle is switched off: it sums "
              "the cumulative time.operating of every answer on a real 600 s window and, against a time-scaled "
              "portal, sleeps ten real minutes after 490 user.add calls (the earlier hang of 600-1000 record "
              "samples); the portal's scaled limits still apply (a 429 would stop the bench). The extrapolation is "
              "linear in calls, so the speed-up is a lower estimate.")


SUMMARISED = ("wall_s", "ratio_to_bound", "first_write_s", "write_s", "peak_rss_mb", "onec_requests",
              "write_commands", "rest_requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--time-scale", type=float, default=100.0)
    parser.add_argument("--naive-sample", type=int, default=2000,
                        help="employees in the naive full-run sample (0: no naive baseline)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--onec-mode", choices=("odata", "soap"), default="odata",
                        help="read 1C through OData or the B24Sync feed")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the phases N times (fresh emulators each time); print the median and spread")
    options = parser.parse_args()
    results = [one_run(options, naive=number == 0 and options.naive_sample > 0) for number in range(options.repeat)]
    if options.repeat == 1:
        print(json.dumps({"onec_mode": options.onec_mode, **results[0]}, ensure_ascii=False))
        return
    print(json.dumps({"onec_mode": options.onec_mode, "repeat": options.repeat, **summarise(results), "runs": results},
                     ensure_ascii=False))


def one_run(options: argparse.Namespace, *, naive: bool) -> dict[str, Any]:
    """The phases once, against emulators started for this run."""
    departments = max(40, options.employees // 60)
    spec = f"employees={options.employees},orgs=3,departments={departments}"
    port = _free_port()
    with emulator("emulators.bitrix24.cli", ["--port", str(port), "--oauth-port", str(_free_port()),
                                             "--time-scale", str(options.time_scale)],
                  "Входящий вебхук администратора:") as webhook, \
            emulator("emulators.onec.cli", ["--port", str(_free_port()), "--generate", spec,
                                            "--seed", str(options.seed)], f"{MARKERS[options.onec_mode]}:") as onec_url, \
            tempfile.TemporaryDirectory() as workdir:
        portal = f"http://127.0.0.1:{port}"
        onec = onec_url.split("/zup/", 1)[0]
        space = Workspace(workdir, webhook, options.onec_mode, onec_url, options.time_scale, generate_token_key())
        result = run_phases(portal, onec, space, options.employees, options.seed)
        if naive:
            add_naive(result, portal, webhook, options.time_scale, options.naive_sample)
    return result


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase and figure: the median and the spread (min, max) over the repetitions."""
    summary: dict[str, Any] = {}
    for phase in ("full", "incremental", "no_change"):
        figures: dict[str, Any] = {}
        for name in SUMMARISED:
            values = sorted(v for result in results if (v := result[phase].get(name)) is not None)
            if values:
                figures[name] = {"median": round(statistics.median(values), 3), "min": values[0], "max": values[-1]}
        summary[phase] = figures
    return summary


def run_phases(portal: str, onec: str, space: Workspace, employees: int, seed: int) -> dict[str, Any]:
    """full, incremental (after 1 % changes), no_change: each sync run in a fresh process."""
    def phase(full: bool) -> dict[str, Any]:
        hook(onec, "counters/reset")
        measured = measure(portal, employees, space.time_scale, lambda: in_fresh_process(sync_phase, space, full))
        return {**measured, "onec_requests": hook(onec, "counters", method="GET")["requests"]}

    result = {"full": _report("full", phase(True))}
    changes = hook(onec, "mutate", {"percent": 1.0, "seed": seed + 1})
    result["incremental"] = phase(False)
    result["incremental"]["changed_records"] = sum(v for k, v in changes.items() if k != "change_version")
    result["no_change"] = phase(False)
    for name in ("incremental", "no_change"):
        share = result[name]["onec_requests"] / max(1, result["full"]["onec_requests"])
        result[name]["onec_requests_vs_full"] = round(share, 3)
        _report(name, result[name])
    return result


def add_naive(result: dict[str, Any], portal: str, webhook: str, time_scale: float, sample: int) -> None:
    """The naive baseline for the full and the incremental run, and our speed-up over each."""
    full, incremental = result["full"], result["incremental"]
    full_calls, incremental_calls = naive_calls(full["counts"]), naive_calls(incremental["counts"])
    measured = in_fresh_process(naive_phase, portal, webhook, time_scale, sample, full_calls, incremental_calls)
    result["naive"] = _report("naive", naive_report(measured, full, full_calls, time_scale))
    result["naive_incremental"] = _report("naive_incremental", naive_incremental_report(measured, incremental))
    result["speedup_full_vs_naive"] = round(result["naive"]["wall_s"] / full["wall_s"], 2)
    result["speedup_incremental_vs_naive"] = round(result["naive_incremental"]["wall_s"] / incremental["wall_s"], 2)


def _report(phase: str, measured: dict[str, Any]) -> dict[str, Any]:
    """Progress on stderr (the JSON on stdout stays one object)."""
    print(phase, json.dumps(measured, ensure_ascii=False), file=sys.stderr, flush=True)
    return measured


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
