"""``pingan flow check|show|try [FILE]``: read, review and rehearse a call flow file.

FILE defaults to the flow in use (``PINGAN_FLOW_FILE``, else the built-in check-in).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from callflows import BUILTIN_FLOW, Flow, FlowError, check_flow, parse_flow
from callflows.transcript import describe
from callflows.trial import Trial
from ivr import settings_of
from ivr.cli import Pingan, cli, pass_pingan
from ivr.config import Settings, load_settings

file_argument = click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
lang_option = click.option(
    "--lang", help="Language of the words: zh-CN, en or yue (default PINGAN_LANGUAGE)."
)


@cli.group("flow")
def flow_group() -> None:
    """Check, read and try call flow files (the check-in's questions as data)."""


@flow_group.command("check")
@file_argument
@pass_pingan
def check(pingan: Pingan, file: Path | None) -> None:
    """List every problem in a flow file with its line; exit 1 if there is any."""
    path = file or _flow_in_use(pingan)
    problems = check_flow(path.read_text(encoding="utf-8"), str(path))
    if problems:
        click.echo(f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        for problem in problems:
            click.echo(str(problem))
        raise SystemExit(1)
    flow = parse_flow(path.read_text(encoding="utf-8"), str(path))
    languages = ", ".join(flow.catalogue.languages)
    click.echo(
        f"{path}: OK ({len(flow.steps)} steps, {len(flow.prompt_names())} prompts, "
        f"each in {languages})"
    )


@flow_group.command("show")
@file_argument
@lang_option
@pass_pingan
def show(pingan: Pingan, file: Path | None, lang: str | None) -> None:
    """Print the whole call as a transcript: the words, each key and where it leads."""
    flow = _load(file or _flow_in_use(pingan))
    click.echo(describe(flow, _language(flow, lang or _settings(pingan).language)), nl=False)


@flow_group.command("try")
@file_argument
@lang_option
@click.option(
    "--members",
    default="",
    help="A household call: the names of the members asked, e.g. 张桂兰,李建国.",
)
@pass_pingan
def try_flow(pingan: Pingan, file: Path | None, lang: str | None, members: str) -> None:
    """Key through the call in the terminal, hearing exactly what a resident would hear.

    Type the keys for each prompt and press Enter (# ends a number, as on a phone). An empty
    line is silence; 'hangup' hangs up. At a transfer, type 'answered' if staff pick up.
    """
    flow = _load(file or _flow_in_use(pingan))
    names = tuple(n.strip() for n in members.replace("，", ",").split(",") if n.strip())
    trial = Trial(flow, _language(flow, lang or _settings(pingan).language), members=names)
    click.echo(f'Trying "{flow.name}": keys, then Enter; Enter alone is silence; "hangup" ends.')
    _echo(trial.begin())
    stdin = sys.stdin  # CliRunner swaps it for its input in tests
    while not trial.ended:
        click.echo(f"{trial.waiting_for}> ", nl=False)
        line = stdin.readline()
        if not line:  # end of input: the resident hangs up
            line = "hangup"
        if not line.endswith("\n") or not stdin.isatty():  # keys from a file: show them
            click.echo(line.rstrip("\n"))
        _echo(trial.key(line.rstrip("\n")))
    answers = ", ".join(f"{k} = {_shown(v)}" for k, v in trial.answers.items())
    click.echo(f"Answers: {answers or 'none'}")


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _load(path: Path) -> Flow:
    try:
        return parse_flow(path.read_text(encoding="utf-8"), str(path))
    except FlowError as exc:
        raise click.ClickException(
            f"{path} has problems (see `pingan flow check`):\n{exc}"
        ) from None


def _settings(pingan: Pingan) -> Settings:
    """The app's settings; straight from the environment if the app cannot start (e.g. the
    configured flow file is the broken one being checked)."""
    try:
        return settings_of(pingan.app)
    except click.ClickException:
        return load_settings()


def _flow_in_use(pingan: Pingan) -> Path:
    configured = _settings(pingan).flow_file
    return Path(configured) if configured else BUILTIN_FLOW


def _language(flow: Flow, lang: str) -> str:
    if lang not in flow.catalogue.languages:
        raise click.ClickException(
            f"the flow has no prompts in {lang!r}; "
            f"choose one of {', '.join(flow.catalogue.languages)}"
        )
    return lang
