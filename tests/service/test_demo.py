"""`b24app demo --once` tells the whole story and exits, as on a newcomer's machine."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tests.support import free_port


def test_demo_story_runs_to_the_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B24", "DATABASE_URL", "ONEC_", "SECRET_KEY"))}
    result = subprocess.run([sys.executable, "-m", "service.cli", "demo", "--once", "--port", str(free_port())],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    story = result.stdout
    for line in ("installFinish вызван", "ONAPPINSTALL получен и проверен", "Синхронизация №1 (полная)",
                 "групп создано: 38", "без e-mail (не приглашены)", "Шаблоны бизнес-процессов установлены",
                 "Согласовал менеджер клиента", "Согласовал менеджер провайдера", "зарегистрировано в 1С:ЗУП",
                 "табели согласованы обеими сторонами", "Табель Т-13 (сотрудников:", "Основание для счёта клиенту"):
        assert line in story, line
    assert (tmp_path / "instance" / "demo" / "demo.sqlite3").exists()
    links = [line for line in story.splitlines() if "/_emulator/open?user_id=" in line]
    assert len(links) == 8 and all("http://localhost:" in line for line in links)
    assert "Кабинет сотрудника" in links[0] and "SONET_GROUP_DETAIL_TAB" in links[4]
    timesheets = [dict(parse_qsl(urlsplit(line[line.index("http"):]).query)) for line in links[5:]]
    assert all(q["placement"] == "REST_APP_URI" and json.loads(q["options"])["page"] == "timesheets" for q in timesheets)


def test_the_demo_folder_is_reused_and_its_keys_serve_the_cli(tmp_path: Path) -> None:
    """A second `b24app demo` continues with the kept folder; `b24app -e instance/demo/.env …` works on it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B24", "DATABASE_URL", "ONEC_", "SECRET_KEY"))}
    demo = [sys.executable, "-m", "service.cli", "demo", "--once", "--port", str(free_port())]
    first = subprocess.run(demo, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    again = subprocess.run(demo, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "Демо уже подготовлено" in again.stdout and "Синхронизация №1" not in again.stdout
    assert _links(again.stdout) == _links(first.stdout)
    portals = subprocess.run([sys.executable, "-m", "service.cli", "-e", "instance/demo/.env", "portals", "list"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert portals.returncode == 0 and "installed" in portals.stdout, portals.stdout + portals.stderr
    reset = subprocess.run([*demo, "--reset"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert reset.returncode == 0 and "Синхронизация №1 (полная)" in reset.stdout


def _links(output: str) -> list[str]:
    return [line for line in output.splitlines() if "/_emulator/open?" in line]
