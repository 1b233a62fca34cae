"""`b24app demo --once` tells the whole story and exits, as on a newcomer's machine."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
