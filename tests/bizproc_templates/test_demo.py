"""The demo chapter runs on the same stack and tells the story in Russian."""
from __future__ import annotations

from bizproc_templates.demo import chapter_business_processes
from tests.bizproc_templates.conftest import Stack


def test_demo_chapter_runs_one_vacation_request(stack: Stack) -> None:
    lines: list[str] = []
    chapter_business_processes(stack.app, stack.install.portal.url, stack.zup.url, lines.append)
    story = "\n".join(lines)
    assert "записано объектов 0 из" in story  # the stack installed them already
    assert "Согласовал менеджер клиента" in story and "Согласовал менеджер провайдера" in story
    assert "документов заявлений в 1С: 1" in story
    assert "зарегистрировано в 1С:ЗУП" in lines[-1]
