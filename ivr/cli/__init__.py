"""The ``pingan`` command. Each command builds the app once (settings from the environment)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from sqlalchemy.exc import OperationalError, ProgrammingError

from callflows import FlowError
from ivr.config import ConfigError
from ivr.db import engine, missing_database
from ivr.db_errors import database_unavailable


class Pingan:
    """The click context object: the app, built on first use (tests hand one in)."""

    def __init__(
        self, app: Flask | None = None, factory: Callable[[], Flask] | None = None
    ) -> None:
        self._app = app
        self._factory = factory

    @property
    def app(self) -> Flask:
        """The app on an existing database: SQLite would create an empty file on first use,
        and a command would then quietly show nothing (e.g. not the demo's data)."""
        return self.build(new_database=False)

    def build(self, *, new_database: bool) -> Flask:
        if self._app is None:
            from ivr import create_app

            try:
                app = (self._factory or create_app)()
            except (ConfigError, FlowError) as exc:
                raise click.ClickException(str(exc)) from None
            missing = None if new_database else missing_database(engine(app))
            if missing is not None:
                raise click.ClickException(
                    f"there is no database at {missing}: run `pingan init` to create it, or "
                    "point PINGAN_DATABASE_URL at an existing one (the demo prints its own)"
                )
            self._app = app
        return self._app


SERVING = frozenset({"serve", "worker", "simulator"})  # their log is their output


def _quiet_unless_serving(argv: list[str]) -> None:
    """A command that prints a table or a line of its own shows only the log's warnings and
    errors (on stderr), so INFO lines never interleave with its output. An explicit
    PINGAN_LOG_LEVEL still decides."""
    command = next((a for a in argv[1:] if not a.startswith("-")), None)
    if command not in SERVING and not os.environ.get("PINGAN_LOG_LEVEL"):
        os.environ["PINGAN_LOG_LEVEL"] = "WARNING"


pass_pingan = click.make_pass_decorator(Pingan, ensure=True)


def emit_json(rows: Any) -> None:
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Pingan (平安): daily keypad check-in calls for residents in home isolation."""


def main() -> None:
    _quiet_unless_serving(sys.argv)
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:  # raised after the app exists, e.g. when a URL is needed
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            click.echo("Error: the database is not set up yet: run `pingan init`.", err=True)
            sys.exit(2)
        if database_unavailable(exc):
            reason = str(exc.orig or exc).strip().splitlines()[0]
            click.echo(f"Error: cannot reach the database: {reason}", err=True)
            sys.exit(1)
        raise


from ivr.cli import (  # noqa: E402,F401
    alerts,
    calls,
    communities,
    database,
    demo,
    flows,
    health,
    notices,
    orders,
    prompts,
    purge,
    reports,
    residents,
    rounds,
    simulator,
    staff,
    stats,
    telegram,
)
