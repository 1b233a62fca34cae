"""Which connections give the files 1C prints (certificates): the cabinet asks before offering a download."""
from __future__ import annotations

import pytest

from onec.factory import delivers_files


@pytest.mark.parametrize("mode,files", [("soap", True), ("odata", False)])
def test_only_the_b24sync_service_delivers_printed_files(mode: str, files: bool) -> None:
    connection = {"name": "zup", "mode": mode, "url": "https://1c.example/zup", "login": "Обмен",
                  "password_env": "ONEC_ZUP_PASSWORD"}
    assert delivers_files(connection) is files
