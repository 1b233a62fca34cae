"""The cabinet inside Bitrix24: the employee's cabinet, the client's and the provider's manager
views and the admin console, as one page in the portal's frame with a JSON API per role."""
from __future__ import annotations

from flask import Flask

from b24app.pages import set_frame_home


def init_app(app: Flask) -> None:
    from b24app.portal import get_config
    from cabinet import api, data, views
    from cabinet.interim import InterimDirectory
    from cabinet.placements import bind_group_tab
    from cabinet.settings import load_settings
    from b24app.install_steps import STEPS, install_step

    if bind_group_tab not in STEPS:  # until Feature.install_steps of «One house»
        install_step(bind_group_tab)

    app.extensions[data.SETTINGS_KEY] = load_settings(get_config(app).section("cabinet"))
    app.extensions.setdefault(data.DIRECTORY_KEY, InterimDirectory(app))
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    set_frame_home(app, views.home)
