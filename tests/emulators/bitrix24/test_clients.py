"""fast-bitrix24 and b24pysdk run unchanged against the emulator (issue 3, "Done when")."""
from __future__ import annotations

from typing import Iterator

import pytest
from b24pysdk import BitrixWebhook, Client
from fast_bitrix24 import Bitrix

from emulators.bitrix24 import RunningBitrix24, serve
from tests.emulators.bitrix24.conftest import hook, result

USERS = 1_030


@pytest.fixture
def seeded() -> Iterator[RunningBitrix24]:
    """1,031 users (admin + seeded), served over HTTP and HTTPS (b24pysdk builds https:// URLs)."""
    running = serve(port=0, https=True)
    hook(running, "users", [{"NAME": f"Имя{i}", "LAST_NAME": "Фамилия", "EMAIL": f"user{i}@example.com",
                             "UF_DEPARTMENT": [1]} for i in range(USERS)])
    yield running
    running.stop()


def test_fast_bitrix24_get_all_and_batched_updates(seeded: RunningBitrix24) -> None:
    client = Bitrix(seeded.webhook_url, verbose=False)
    users = client.get_all("user.get")
    assert sorted(int(user["ID"]) for user in users) == list(range(1, USERS + 2))
    updated = client.call("user.update", [{"ID": user_id, "WORK_POSITION": f"Должность {user_id}"}
                                          for user_id in range(2, 123)])
    assert list(updated) == [True] * 121
    assert result(seeded, "user.get", ID=77)[0]["WORK_POSITION"] == "Должность 77"
    counters = hook(seeded, "counters", http_method="GET")
    assert counters["by_method"]["user.update"]["calls"] == 121
    assert counters["requests"] < 10  # batches of 50, not one request per user


def test_fast_bitrix24_batch_of_user_add(seeded: RunningBitrix24) -> None:
    client = Bitrix(seeded.webhook_url, verbose=False)
    ids = client.call("user.add", [{"EMAIL": f"new{i}@example.com", "UF_DEPARTMENT": [1]} for i in range(60)])
    assert sorted(ids) == list(range(USERS + 2, USERS + 62))


def test_b24pysdk_webhook_get_batch_and_fast_list(seeded: RunningBitrix24, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", seeded.ca_file or "")  # configuration: trust the emulator's cert
    token = BitrixWebhook(domain=(seeded.https_url or "").split("://")[1],
                          webhook_token=f"1/{seeded.state.admin_webhook}")
    client = Client(token)
    [user] = client.user.get(filter={"ID": 5}).result
    assert user["EMAIL"] == "user3@example.com"
    batch = client.call_batch({"me": client.user.current(), "five": client.user.get(filter={"ID": 5})}).result
    assert batch.result["me"]["ID"] == "1" and batch.result["five"][0]["ID"] == "5"
    exported = list(client.user.get().as_list_fast().result)
    assert [int(row["ID"]) for row in exported] == list(range(1, USERS + 2))
