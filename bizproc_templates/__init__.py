"""Business processes as code: YAML sources -> validated -> compiled to Bitrix24 .bpt (and back),
installed with their app activities, whose callbacks the worker answers.

Public API (see bizproc_templates/README.md):
``load_process``/``load_processes`` (source), ``validate`` (validation), ``compile_bpt``,
``compile_structure``, ``list_definition``, ``content_hash`` (compiler), ``import_bpt`` (decoder),
``pack_bpt``/``unpack_bpt`` (bpt), ``load_app_activities`` (catalog).
"""
from __future__ import annotations

from pathlib import Path

from b24app.features import ConfigSection, Feature
from bizproc_templates import answers, cli, installer
from bizproc_templates.settings import load_settings

FEATURE = Feature(
    name="bizproc_templates", title="Кадровые бизнес-процессы", requires=("onec", "sync_jobs"),
    models=("bizproc_templates.models",), migrations=Path(__file__).parent / "migrations",
    config_section=ConfigSection("bizproc", load_settings),
    inbox_handlers=answers.HANDLERS, install_steps=(installer.register_app_activities,),
    cli=(cli.group,),
)
