"""The cabinet inside Bitrix24: the employee's cabinet, the client's and the provider's manager
views and the admin console, as one page in the portal's frame with a JSON API per role."""
from __future__ import annotations

from flask import Flask

from b24app.features import ConfigSection, Feature
from b24app.pages import set_frame_home
from cabinet import api, data, views
from cabinet.directory import SyncDirectory
from cabinet.placements import bind_group_tab
from cabinet.settings import load_settings


def init_app(app: Flask) -> None:
    """The directory the pages read, and the cabinet as the page every placement opens."""
    app.extensions.setdefault(data.DIRECTORY_KEY, SyncDirectory(app))
    set_frame_home(app, views.home)


FEATURE = Feature(
    name="cabinet", title="Кабинет в Битрикс24", requires=("onec", "sync_jobs", "bizproc_templates"),
    config_section=ConfigSection("cabinet", load_settings),
    install_steps=(bind_group_tab,), blueprints=(views.bp, api.bp), init_app=init_app,
)
