"""``pingan prompts list|record-sheet``: every prompt's words, and which are recorded.

Recordings replace text-to-speech prompt by prompt (see ``ivr.domain.recordings`` for file names).
"""

from __future__ import annotations

from collections.abc import Iterable

import click
from flask import Flask

from callflows import Catalogue
from ivr import settings_of
from ivr.cli import Pingan, cli, pass_pingan
from ivr.domain.recordings import Recordings, recordings_dir, recordings_of, stems
from ivr.tables import format_table
from ivr.web.voice.context import flows_of

lang_option = click.option("--lang", help="Only this language: zh-CN, en or yue.")
EXTRA_PROMPTS = ("apology",)  # spoken outside any flow (when the system fails mid-call)


@cli.group("prompts")
def prompts_group() -> None:
    """The words callers hear, per language, and their recordings."""


@prompts_group.command("list")
@lang_option
@pass_pingan
def list_prompts(pingan: Pingan, lang: str | None) -> None:
    """Every prompt with its words and whether it is recorded (else it is spoken by TTS)."""
    app = pingan.app
    catalogue, recordings = flows_of(app).checkin.catalogue, recordings_of(app)
    used = set(used_prompts(app))
    rows = []
    for code in _languages(catalogue, lang):
        for name in [*used_prompts(app), *sorted(set(catalogue.prompts[code]) - used)]:
            rows.append(
                [
                    code,
                    name,
                    _recorded(recordings, catalogue, name, code),
                    "" if name in used else "(unused)",
                    catalogue.template(name, code),
                ]
            )
    click.echo(format_table(["lang", "prompt", "recorded", "use", "words"], rows))


@prompts_group.command("record-sheet")
@lang_option
@click.option("--missing", is_flag=True, help="Only the files not recorded yet.")
@pass_pingan
def record_sheet(pingan: Pingan, lang: str | None, missing: bool) -> None:
    """The script to record: each file name with the exact words to say."""
    app = pingan.app
    catalogue, recordings = flows_of(app).checkin.catalogue, recordings_of(app)
    folder = recordings_dir(settings_of(app))
    for code in _languages(catalogue, lang):
        meta = catalogue.languages[code]
        click.echo(f"# {meta.name} ({code}): save as MP3 or WAV in {folder / code}/")
        click.echo("# Words in {braces} are spoken by the app, not recorded.")
        for name in used_prompts(app):
            files = [
                (stem, words)
                for stem, words in stems(catalogue, name, code)
                if not (missing and recordings.find(code, stem))
            ]
            if not files:
                continue
            click.echo(f"\n{name}: {catalogue.template(name, code)}")
            for stem, words in files:
                done = " (recorded)" if recordings.find(code, stem) else ""
                click.echo(f"  {stem}.mp3  {words.strip()}{done}")
        click.echo("")


def used_prompts(app: Flask) -> list[str]:
    """Prompts a call can speak: the flow in use, the identify flow, then the extras."""
    flows = flows_of(app)
    names = [*flows.checkin.prompt_names(), *flows.identify.prompt_names(), *EXTRA_PROMPTS]
    return list(dict.fromkeys(names))


def _languages(catalogue: Catalogue, lang: str | None) -> Iterable[str]:
    if lang is None:
        return list(catalogue.languages)
    if lang not in catalogue.languages:
        raise click.BadParameter(
            f"{lang!r} is not one of {', '.join(catalogue.languages)}", param_hint="--lang"
        )
    return [lang]


def _recorded(recordings: Recordings, catalogue: Catalogue, name: str, lang: str) -> str:
    needed = [stem for stem, _ in stems(catalogue, name, lang)]
    have = sum(1 for stem in needed if recordings.find(lang, stem))
    if have == len(needed):
        return "yes"
    if have == 0:
        return "no (TTS)"
    return f"{have} of {len(needed)} parts (TTS)"
