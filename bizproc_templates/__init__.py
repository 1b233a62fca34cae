"""Business processes as code: YAML sources -> validated -> compiled to Bitrix24 .bpt (and back).

Public API (see bizproc_templates/README.md):
``load_process``/``load_processes`` (source), ``validate`` (validation), ``compile_bpt``,
``compile_structure``, ``list_definition``, ``content_hash`` (compiler), ``import_bpt`` (decoder),
``pack_bpt``/``unpack_bpt`` (bpt), ``load_app_activities`` (catalog).
"""
