"""The cabinet's stack with timesheets: the approval process installed and this month's timesheets of
two sites prefilled from 1C (site a has a brigade leader, ``cabinet.brigade_leaders``)."""
from __future__ import annotations

from pathlib import Path

from b24app.db import get_db
from b24app.portal import client_for, get_config
from bizproc_templates.installer import Installer
from bizproc_templates.source import PROCESSES_DIR, load_process
from service import upgrade_schema
from sync_jobs.directory import directory
from tests.cabinet.stack import CabinetStack
from timesheets.jobs import clock_of, settings_of
from timesheets.roster import open_source, prefill_site, site_roster
from timesheets.sheets import first_of_month


def timesheet_stack(folder: Path) -> CabinetStack:
    """Built once per test module (a sync and the installs take seconds); stop() it afterwards."""
    url = f"sqlite:///{folder / 'b24app.sqlite3'}"
    upgrade_schema(url)
    built = CabinetStack(folder, url, requests_waiting=False)
    try:
        app = built.app
        Installer(client_for(app, built.install.member_id), get_db(app), member_id=built.install.member_id,
                  client_id=built.install.client_id, public_url=get_config(app).public_url,
                  processes=[load_process(PROCESSES_DIR / "timesheet_approval.yaml")], activities={}).install()
        month = first_of_month(clock_of(app)().date())
        source = open_source(app)
        try:
            roster = site_roster(source, directory(app), [built.sites.a, built.sites.b], month)
        finally:
            source.close()
        prefill_site(get_db(app), built.install.member_id, settings_of(app), roster, month, clock_of(app)())
    except BaseException:
        built.stop()
        raise
    return built
