"""`b24app emulate onec`: the 1C:ZUP emulator in the foreground."""
from __future__ import annotations

import click

from . import DEFAULT_LOGIN, DEFAULT_PASSWORD, start
from .mutate import mutate


@click.command("onec")
@click.option("--port", default=8802, show_default=True, type=int)
@click.option("--generate", "spec", default="employees=200,orgs=3,departments=20", show_default=True,
              help="employees=N,orgs=N,departments=N[,positions=N]")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--mutate", "percent", default=0.0, type=float, help="apply PERCENT % changes after generating")
@click.option("--login", default=DEFAULT_LOGIN, show_default=True)
@click.option("--password", default=DEFAULT_PASSWORD, show_default=True)
@click.option("--publication", default="zup", show_default=True)
def command(port: int, spec: str, seed: int, percent: float, login: str, password: str, publication: str) -> None:
    """Fake 1C:ZUP (OData standard interface + B24Sync SOAP) with a generated staffing company."""
    try:
        running = start(port, spec, seed, login, password, publication)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if percent:
        mutate(running.app.store, percent, seed + 1)
    click.echo(f"odata: {running.odata_url}")
    click.echo(f"wsdl: {running.wsdl_url}")
    click.echo(f"login: {running.login}")
    click.echo(f"password: {running.password}", nl=True)
    try:
        running.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        running.server.server_close()
