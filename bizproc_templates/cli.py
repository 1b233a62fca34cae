"""`b24app templates ...`: build, import and validate business process templates."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from b24app.db import get_db
from b24app.portal import client_for, get_config, get_store
from bizproc_templates import schedule
from bizproc_templates.acts import ActsList
from onec.errors import OneCError

from .catalog import AppActivityType, placeholder_activity_type, rest_activity_types
from .compiler import compile_bpt, content_hash
from .decoder import import_bpt
from .installer import Change, Installer, installed_rows, writes_of
from .source import PROCESSES_DIR, dump_source, load_processes
from .validation import validate

ACTION_LABELS = {"create": "создать", "update": "обновить", "adopt": "взять под управление", "unchanged": "без изменений"}
KIND_LABELS = {"activity": "действие", "list": "список", "field": "поле", "template": "шаблон"}

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


def _portal(member_id: str | None) -> str:
    """The member_id of the one installed portal, or the one given."""
    installed = [i.member_id for i in get_store(current_app).all() if i.status == "installed"]
    if member_id is None and len(installed) != 1:
        raise click.ClickException(f"Укажите портал (--portal member_id): установлено порталов — {len(installed)}")
    member_id = member_id or installed[0]
    if member_id not in installed:
        raise click.ClickException(f"Приложение не установлено на портале {member_id}")
    return member_id


def _installer(member_id: str | None) -> Installer:
    """The installer for one installed portal (the only one when --portal is not given)."""
    config = get_config(current_app)
    if config.mode != "app":
        raise click.ClickException("Установка шаблонов возможна только в режиме приложения (mode: app)")
    member_id = _portal(member_id)
    return Installer(client_for(current_app, member_id), get_db(current_app), member_id=member_id,
                     client_id=config.client_id, public_url=config.public_url)


def _echo_changes(changes: list[Change]) -> None:
    """The objects install writes (or would write), then the count."""
    for change in writes_of(changes):
        click.echo(f"{KIND_LABELS[change.kind]:<9} {change.code:<36} {ACTION_LABELS[change.action]}")
    click.echo(f"Изменений: {len(writes_of(changes))} из {len(changes)} объектов")


portal_option = click.option("--portal", "member_id", help="member_id портала (по умолчанию — единственный).")


@group.command()
@portal_option
@with_appcontext
def install(member_id: str | None) -> None:
    """Create or update lists, fields, templates and app activities on the portal."""
    _echo_changes(_installer(member_id).install())


@group.command()
@portal_option
@with_appcontext
def diff(member_id: str | None) -> None:
    """Show what `templates install` would change (reads only)."""
    _echo_changes(_installer(member_id).plan())


@group.command(name="list")
@portal_option
@with_appcontext
def list_command(member_id: str | None) -> None:
    """Installed objects and their versions per portal."""
    rows = installed_rows(get_db(current_app), member_id)
    if not rows:
        click.echo("Шаблоны не установлены ни на одном портале")
        return
    click.echo(f"{'портал':<34} {'вид':<9} {'код':<36} {'ID':<10} {'версия':>6}  хеш")
    for row in rows:
        click.echo(f"{row.member_id:<34} {KIND_LABELS.get(row.kind, row.kind):<9} {row.code:<36} {row.b24_id:<10} "
                   f"{row.version:>6}  {row.content_hash[:12]}")


@group.group(name="acts")
def acts_group() -> None:
    """Local regulations (ЛНА): publish an act for acknowledgement, see who has not read it."""


def _user_ids(users: str, group_id: int | None, member_id: str | None) -> list[int]:
    ids = [int(part) for part in users.split(",") if part.strip()] if users else []
    if group_id is not None:
        members = client_for(current_app, member_id).call("sonet_group.user.get", {"ID": group_id}).result
        ids += [int(m["USER_ID"]) for m in members if m.get("ROLE") == "K"]
    if not ids:
        raise click.UsageError("укажите сотрудников: --users 5,6,7 и/или --group ID")
    return ids


@acts_group.command(name="publish")
@click.option("--act", "act_code", required=True, help="код акта, например ПВТР-2026")
@click.option("--title", required=True, help="название акта")
@click.option("--file-id", type=int, required=True, help="ID файла акта на Диске")
@click.option("--users", default="", help="ID пользователей через запятую")
@click.option("--group", "group_id", type=int, help="все участники рабочей группы (площадки клиента)")
@click.option("--deadline", help="ознакомиться до, ГГГГ-ММ-ДД")
@portal_option
@with_appcontext
def acts_publish(act_code: str, title: str, file_id: int, users: str, group_id: int | None,
                 deadline: str | None, member_id: str | None) -> None:
    """Send the act to employees for acknowledgement (again: only to those who do not have it)."""
    acts = ActsList(client_for(current_app, member_id))
    added = acts.publish(act_code, title, file_id, _user_ids(users, group_id, member_id), deadline)
    click.echo(f"Акт {act_code}: отправлен на ознакомление {added} сотрудникам")


@acts_group.command(name="report")
@click.option("--act", "act_code", required=True)
@portal_option
@with_appcontext
def acts_report(act_code: str, member_id: str | None) -> None:
    """Who has and who has not yet acknowledged the act."""
    states = ActsList(client_for(current_app, member_id)).report(act_code)
    pending = [s for s in states if not s.acknowledged]
    click.echo(f"Акт {act_code}: ознакомлены {len(states) - len(pending)} из {len(states)}")
    for state in pending:
        click.echo(f"  не ознакомлен(а): {state.name or '—'} (ID {state.user_id})")


@group.group(name="schedule")
def schedule_group() -> None:
    """Vacation schedules: employees' wishes per department, consolidation, approval into 1C:ZUP."""


year_option = click.option("--year", type=int, required=True, help="год графика")
department_option = click.option("--department", "department_ref", required=True, help="ссылка подразделения 1С")
max_away_option = click.option("--max-away", type=click.IntRange(min=0), default=1, show_default=True,
                               help="сколько сотрудников подразделения может отсутствовать одновременно")


@schedule_group.command(name="list")
@year_option
@portal_option
@with_appcontext
def schedule_list(year: int, member_id: str | None) -> None:
    """Departments with wishes for the year and whether their schedule is approved."""
    rows = schedule.departments(current_app, _portal(member_id), year)
    if not rows:
        click.echo(f"Пожеланий на {year} год нет")
        return
    click.echo(f"{'подразделение':<40} {'сотр.':>5} {'периодов':>8} {'дней':>5}  график")
    for row in rows:
        click.echo(f"{row.department_name or row.department_ref:<40} {row.employees:>5} {row.periods:>8} "
                   f"{row.days:>5}  {_approval_state(row)}")


def _approval_state(row: schedule.DepartmentWishes) -> str:
    if row.approval is None:
        return "не утверждён"
    number = row.approval.zup_number.strip()
    return f"утверждён, документ {number}" if row.approved_as_is else f"пожелания изменились после документа {number}"


@schedule_group.command(name="consolidate")
@department_option
@year_option
@max_away_option
@portal_option
@with_appcontext
def schedule_consolidate(department_ref: str, year: int, max_away: int, member_id: str | None) -> None:
    """Coverage, conflicts and unusable wishes of a department's schedule (reads only)."""
    try:
        consolidated = schedule.consolidation(current_app, _portal(member_id), department_ref, year, max_away)
    except (schedule.ScheduleError, OneCError) as error:
        raise click.ClickException(str(error)) from error
    names = schedule.employee_names(current_app, consolidated.wishes)
    for wish in consolidated.wishes:
        click.echo(f"{names[wish.employee_ref]:<40} {wish.start:%d.%m.%Y}–{wish.end:%d.%m.%Y} {wish.days:>3} дн.")
    lowest = min(consolidated.coverage.items(), key=lambda item: (item[1], item[0]))
    click.echo(f"Меньше всего на работе: {lowest[1]} чел. ({lowest[0]:%d.%m.%Y})")
    for period in schedule.conflict_periods(consolidated):
        away = ", ".join(names.get(ref, ref) for ref in period.away)
        click.echo(f"Конфликт {period.start:%d.%m.%Y}–{period.end:%d.%m.%Y}: отсутствуют {len(period.away)} "
                   f"при допустимых {period.limit} ({away})")
    for problem in consolidated.problems:
        click.echo(f"Не учтено: {problem}")
    click.echo("Можно утверждать" if consolidated.ready else "Утвердить нельзя: сначала разрешите конфликты")


@schedule_group.command(name="approve")
@department_option
@year_option
@max_away_option
@click.option("--approved-by", required=True, help="кто утверждает (попадёт в комментарий документа 1С)")
@portal_option
@with_appcontext
def schedule_approve(department_ref: str, year: int, max_away: int, approved_by: str, member_id: str | None) -> None:
    """Approve the department's schedule and write it to 1C:ZUP as Document.ГрафикОтпусков."""
    try:
        approval = schedule.approve_schedule(current_app, _portal(member_id), department_ref, year, max_away,
                                             approved_by)
    except (schedule.ScheduleError, OneCError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"График утверждён и передан в 1С:ЗУП: документ {approval.zup_number.strip()} ({approval.zup_ref})")
