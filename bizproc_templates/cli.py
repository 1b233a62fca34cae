"""`b24app templates ...`: build, import and validate business process templates."""
from __future__ import annotations

from pathlib import Path

import click

from .catalog import AppActivityType, placeholder_activity_type, rest_activity_types
from .compiler import compile_bpt, content_hash
from .decoder import import_bpt
from .source import PROCESSES_DIR, dump_source, load_processes
from .validation import validate

DIST_DIR = Path("dist") / "bizproc"


def _activity_types(client_id: str | None) -> AppActivityType:
    return rest_activity_types(client_id) if client_id else placeholder_activity_type


@click.group(name="templates")
def group() -> None:
    """Business process templates (processes/*.yaml -> .bpt)."""


@group.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DIST_DIR, show_default=True)
@click.option("--client-id", help="App client_id: app activities get their real rest_<md5> types.")
def build(out_dir: Path, client_id: str | None) -> None:
    """Validate and write dist/bizproc/<code>.bpt for every process."""
    processes = load_processes()
    problems = [problem for process in processes for problem in validate(process)]
    if problems:
        raise click.ClickException("\n".join(map(str, problems)))
    out_dir.mkdir(parents=True, exist_ok=True)
    types = _activity_types(client_id)
    click.echo(f"{'code':<22} {'bytes':>6}  {'hash':<12}  name")
    for process in processes:
        data = compile_bpt(process, types)
        (out_dir / f"{process.code}.bpt").write_bytes(data)
        click.echo(f"{process.code:<22} {len(data):>6}  {content_hash(process)[:12]}  {process.section('template')['name']}")
    if not client_id:
        click.echo("App activities carry placeholder types; pass --client-id for files to import by hand.")


@group.command(name="import")
@click.argument("bpt_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=PROCESSES_DIR, show_default=True)
@click.option("--code", help="Process code (default: the file name).")
@click.option("--client-id", help="App client_id, to recognise our app activities by their rest_<md5> types.")
def import_command(bpt_file: Path, out_dir: Path, code: str | None, client_id: str | None) -> None:
    """Turn an exported .bpt into a YAML source."""
    code = code or bpt_file.stem
    source = import_bpt(bpt_file.read_bytes(), code, _activity_types(client_id))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{code}.yaml"
    target.write_text(dump_source(source), encoding="utf-8")
    click.echo(f"wrote {target}")


@group.command(name="validate")
def validate_command() -> None:
    """Check every process against the activity property table."""
    processes = load_processes()
    problems = [problem for process in processes for problem in validate(process)]
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(processes)} processes OK")
