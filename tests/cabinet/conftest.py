"""The cabinet's stack, built once per test module (a sync and a business process take seconds)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from service import upgrade_schema
from tests.cabinet.stack import CabinetStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CabinetStack]:
    folder = tmp_path_factory.mktemp("cabinet")
    url = f"sqlite:///{folder / 'b24app.sqlite3'}"
    upgrade_schema(url)
    built = CabinetStack(folder, url)
    yield built
    built.stop()
