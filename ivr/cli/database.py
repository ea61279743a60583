"""``pingan init``: create or upgrade the database through the migrations."""

from __future__ import annotations

import click

from ivr.cli import Pingan, cli, pass_pingan
from ivr.db import engine
from storage.migrate import current_revision, upgrade


@cli.command("init")
@pass_pingan
def init(pingan: Pingan) -> None:
    """Create the database, or upgrade it to the latest schema."""
    db_engine = engine(pingan.build(new_database=True))
    before = current_revision(db_engine)
    upgrade(db_engine)
    after = current_revision(db_engine)
    url = db_engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"Database {url} is up to date (revision {after}).")
    else:
        click.echo(f"Database {url} upgraded from {before or 'empty'} to {after}.")
