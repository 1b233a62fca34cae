"""Test hooks: faults, counters, reset, mutate over HTTP; the CLI banner."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from emulators.onec import RunningOneC, serve

from .conftest import rows

ROOT = Path(__file__).resolve().parents[3]


def test_fault_on_kth_call_for_a_set(http: requests.Session, zup: RunningOneC) -> None:
    added = requests.post(f"{zup.url}/_emulator/faults", json={"kind": "500", "on_call": 2,
                                                               "set": "Catalog_Должности"})
    assert added.status_code == 200
    url = zup.odata_url + "Catalog_Должности"
    statuses = [http.get(url, params={"$format": "json"}).status_code for _ in range(3)]
    assert statuses == [200, 500, 200]
    assert http.get(zup.odata_url + "Catalog_Сотрудники", params={"$format": "json"}).status_code == 200


def test_fault_rate_one_and_clear(http: requests.Session, zup: RunningOneC) -> None:
    requests.post(f"{zup.url}/_emulator/faults", json={"kind": "500", "rate": 1.0})
    failed = http.get(zup.odata_url + "Catalog_Должности", params={"$format": "json"})
    assert failed.status_code == 500 and failed.json()["odata.error"]["code"] == "-1"
    requests.delete(f"{zup.url}/_emulator/faults")
    assert http.get(zup.odata_url + "Catalog_Должности", params={"$format": "json"}).status_code == 200


def test_dropped_connection_mid_body(http: requests.Session, zup: RunningOneC) -> None:
    requests.post(f"{zup.url}/_emulator/faults", json={"kind": "drop", "on_call": 1})
    with pytest.raises(requests.exceptions.RequestException):
        http.get(zup.odata_url + "Catalog_Сотрудники", params={"$format": "json"}).json()


def test_slow_fault_still_answers_and_is_counted(http: requests.Session, zup: RunningOneC) -> None:
    before = requests.get(f"{zup.url}/_emulator/counters").json()["faults"]
    requests.post(f"{zup.url}/_emulator/faults", json={"kind": "slow", "on_call": 1, "delay_s": 0.1})
    assert http.get(zup.odata_url + "Catalog_Должности", params={"$format": "json"}).status_code == 200
    assert requests.get(f"{zup.url}/_emulator/counters").json()["faults"] == before + 1


def test_bad_fault_request_is_a_clear_400(zup: RunningOneC) -> None:
    response = requests.post(f"{zup.url}/_emulator/faults", json={"kind": "boom"})
    assert response.status_code == 400 and "kind must be" in response.json()["error"]


def test_counters_by_set(http: requests.Session, zup: RunningOneC) -> None:
    requests.post(f"{zup.url}/_emulator/counters/reset")
    for _ in range(3):
        rows(http, zup, "Catalog_Должности", **{"$top": "1"})
    counters = requests.get(f"{zup.url}/_emulator/counters").json()
    assert counters["by_set"] == {"Catalog_Должности": 3} and counters["requests"] == 3


def test_reset_and_mutate_hooks() -> None:
    running = serve(generate="employees=120,orgs=2,departments=6", seed=2)
    try:
        session = requests.Session()
        session.auth = (running.login.encode(), running.password.encode())
        before = {e["Ref_Key"]: e["DataVersion"] for e in rows(session, running, "Catalog_ФизическиеЛица")}
        summary = requests.post(f"{running.url}/_emulator/mutate", json={"percent": 10, "seed": 3}).json()
        after = {e["Ref_Key"]: e["DataVersion"] for e in rows(session, running, "Catalog_ФизическиеЛица")}
        assert len(after) - len(before) == summary["hired"] > 0
        assert sum(1 for k, v in before.items() if after[k] != v) >= summary["emails"]
        reset = requests.post(f"{running.url}/_emulator/reset", json={"generate": "employees=50,orgs=1,"
                                                                                   "departments=2"}).json()
        assert reset["sets"]["Catalog_Сотрудники"] == 50
        assert len(rows(session, running, "Catalog_Сотрудники")) == 50
    finally:
        running.stop()


def test_cli_prints_the_four_lines() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "from emulators.onec.cli import command; command()", "--port", "0",
         "--generate", "employees=20,orgs=1,departments=2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline().rstrip("\n") for _ in range(4)]
        assert [line.split(": ", 1)[0] for line in lines] == ["odata", "wsdl", "login", "password"]
        values = dict(line.split(": ", 1) for line in lines)
        assert values["odata"].endswith("/zup/odata/standard.odata/")
        assert values["wsdl"].endswith("/zup/ws/b24sync.1cws?wsdl") and values["login"] == "Администратор"
        answer = requests.get(values["odata"] + "Catalog_Сотрудники/$count",
                              auth=(values["login"].encode(), values["password"].encode()), timeout=30)
        assert answer.text == "20"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_rejects_a_bad_spec() -> None:
    result = subprocess.run([sys.executable, "-c", "from emulators.onec.cli import command; command()",
                             "--generate", "employees=x"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "bad generate spec" in result.stderr
