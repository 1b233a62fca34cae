from __future__ import annotations

import base64
import zlib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bizproc_templates.bpt import BptFormatError, unpack_bpt
from bizproc_templates.cli import group
from bizproc_templates.compiler import compile_bpt
from bizproc_templates.decoder import import_bpt
from bizproc_templates.source import Process, dump_source, load_process
from bizproc_templates.validation import validate

FIXTURES = Path(__file__).parent / "fixtures"
DOCS_SAMPLE = base64.b64decode((FIXTURES / "docs_sample.b64").read_text())


def test_docs_sample_imports_and_recompiles_byte_exactly() -> None:
    source = import_bpt(DOCS_SAMPLE, "docs_sample")
    [message] = source["activities"]
    assert message["type"] == "SocNetMessageActivity"
    assert message["name"] == "A50060_89629_69262_59252"
    assert message["properties"]["MessageUserTo"] == ["author"]
    assert len(source["document_fields"]) == 20
    process = Process("docs_sample", yaml.safe_load(dump_source(source)))
    assert validate(process) == []
    assert compile_bpt(process) == DOCS_SAMPLE


def test_uncompressed_serialized_data_is_accepted() -> None:
    assert unpack_bpt(zlib.decompress(DOCS_SAMPLE)) == unpack_bpt(DOCS_SAMPLE)


@pytest.mark.parametrize("raw", [b"not a template", zlib.compress(b'a:1:{s:1:"X";i:1;}')])
def test_wrong_data_is_rejected(raw: bytes) -> None:
    with pytest.raises(BptFormatError):
        unpack_bpt(raw)


def test_cli_build_import_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    built = runner.invoke(group, ["build"])
    assert built.exit_code == 0, built.output
    files = sorted(path.name for path in (tmp_path / "dist" / "bizproc").iterdir())
    assert len(files) == 13 and "vacation.bpt" in files and "timesheet_approval.bpt" in files
    assert "Заявление на отпуск" in built.output
    (tmp_path / "sample.bpt").write_bytes(DOCS_SAMPLE)
    imported = runner.invoke(group, ["import", "sample.bpt", "--out", "src"])
    assert imported.exit_code == 0, imported.output
    assert compile_bpt(load_process(tmp_path / "src" / "sample.yaml")) == DOCS_SAMPLE
    validated = runner.invoke(group, ["validate"])
    assert validated.exit_code == 0 and "13 processes OK" in validated.output
