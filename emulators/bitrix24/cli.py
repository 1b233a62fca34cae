"""``b24app emulate bitrix24``: serve the portal emulator in the foreground."""
from __future__ import annotations

import threading

import click

from . import serve


@click.command("bitrix24")
@click.option("--port", default=8801, show_default=True, type=int)
@click.option("--oauth-port", default=8803, show_default=True, type=int, help="Port of the separate OAuth server.")
@click.option("--state", "state_file", default=None, type=click.Path(dir_okay=False), help="JSON state file.")
@click.option("--plan", default="standard", show_default=True, type=click.Choice(["standard", "enterprise"]))
@click.option("--time-scale", default=1.0, show_default=True, type=click.FloatRange(min=0.001))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--realtime", default=0.0, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Fraction of the accounted server time to actually sleep.")
def command(port: int, oauth_port: int, state_file: str | None, plan: str, time_scale: float, seed: int,
            realtime: float) -> None:
    """Эмулятор портала Битрикс24 (REST, OAuth, события) на 127.0.0.1."""
    portal = serve(port=port, plan=plan, time_scale=time_scale, state_file=state_file, seed=seed, realtime=realtime,
                   oauth_port=oauth_port)
    click.echo(f"Портал Битрикс24: {portal.url}")
    click.echo(f"OAuth-сервер: {portal.oauth_url}/oauth/token/")
    click.echo(f"Входящий вебхук администратора: {portal.webhook_url}")
    click.echo(f"member_id: {portal.member_id}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("Остановка…")
    finally:
        portal.stop()
