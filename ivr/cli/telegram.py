"""``pingan telegram setup|status|group``, and link codes: ``pingan residents link PHONE``,
``pingan residents unlink PHONE``, ``pingan staff link STAFF``."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask
from sqlalchemy.orm import Session

from ivr import clock_of, settings_of
from ivr.carriers.telegram.bot import bot_of, enabled
from ivr.carriers.telegram.client import ALLOWED_UPDATES, TelegramError
from ivr.carriers.telegram.linking import new_code, unlink_resident
from ivr.carriers.telegram.notifier import CHANNEL
from ivr.cli import Pingan, cli, pass_pingan
from ivr.cli.residents import find_resident, member_option, residents
from ivr.cli.staff import community_named, staff_group, staff_ref
from ivr.db import session_scope
from ivr.domain.households import housemates
from ivr.phones import PhoneError, mask_phone, normalize_phone
from storage import Resident


def _bot_app(pingan: Pingan) -> Flask:
    app = pingan.app
    if not enabled(app):
        raise click.ClickException("set PINGAN_TELEGRAM_BOT_TOKEN (from BotFather) first")
    return app


@cli.group("telegram")
def telegram() -> None:
    """The Telegram bot: check-ins by chat, alerts with buttons."""


@telegram.command("setup")
@pass_pingan
def setup(pingan: Pingan) -> None:
    """Register the webhook with Telegram (secret token, and only the updates Pingan uses)."""
    app = _bot_app(pingan)
    settings = settings_of(app)
    base = settings.public_url or app.extensions.get("pingan.public_url")
    if not base:
        raise click.ClickException("set PINGAN_PUBLIC_URL: Telegram must reach the webhook")
    url = f"{base.rstrip('/')}/telegram/webhook"
    try:
        bot_of(app).set_webhook(url, settings.telegram_webhook_secret or "")
    except TelegramError as exc:
        raise click.ClickException(f"Telegram refused the webhook: {exc}") from None
    click.echo(f"webhook set: {url} (updates: {', '.join(ALLOWED_UPDATES)})")


@telegram.command("status")
@pass_pingan
def status(pingan: Pingan) -> None:
    """What Telegram knows of the webhook (getWebhookInfo)."""
    app = _bot_app(pingan)
    try:
        info = bot_of(app).get_webhook_info()
    except TelegramError as exc:
        raise click.ClickException(f"Telegram did not answer: {exc}") from None
    click.echo(f"webhook: {info.get('url') or '(none set: run `pingan telegram setup`)'}")
    click.echo(f"updates: {', '.join(info.get('allowed_updates') or ['all'])}")
    click.echo(f"pending: {info.get('pending_update_count', 0)}")
    if info.get("last_error_message"):
        when = dt.datetime.fromtimestamp(int(info.get("last_error_date") or 0), dt.UTC)
        local = when.astimezone(settings_of(app).tz).strftime("%Y-%m-%d %H:%M")
        click.echo(f"last error: {info['last_error_message']} ({local})")


@telegram.command("group")
@click.argument("community")
@click.option("--chat", "chat_id", help="The group's chat id (-100…).")
@click.option("--off", is_flag=True, help="Stop posting this community's escalations there.")
@pass_pingan
def group(pingan: Pingan, community: str, chat_id: str | None, off: bool) -> None:
    """Post a community's escalations to a Telegram group (its chat id, e.g. -100123…), with
    确认 / 已处理 buttons for the linked staff in it; instead of a WeCom/DingTalk robot."""
    app = pingan.app if off else _bot_app(pingan)
    with session_scope(app) as session:
        target = community_named(session, community)
        if off:
            if target.chat_format == CHANNEL:
                target.chat_webhook_url = target.chat_format = None
            click.echo(f"{target.name}: no Telegram group")
            return
        if not chat_id or not chat_id.lstrip("-").isdigit() or len(chat_id) > 20:
            raise click.ClickException("give the group's chat id (a number such as -1001234567890)")
        target.chat_webhook_url, target.chat_format = chat_id, CHANNEL
        click.echo(f"{target.name}: escalations go to Telegram group {chat_id}")


@residents.command("link")
@click.argument("phone")
@click.option("--contact", is_flag=True, help="For their family / emergency contact.")
@click.option(
    "--household",
    is_flag=True,
    help="For everyone sharing the phone, now and later: one chat check-in asks each in turn.",
)
@click.option("--by", "actor", default="cli", help="Who hands the code over.")
@member_option
@pass_pingan
def link(
    pingan: Pingan, phone: str, contact: bool, household: bool, actor: str, member: str | None
) -> None:
    """A one-time Telegram link code for a resident (or their family, --contact; or their
    whole household, --household)."""
    app = _bot_app(pingan)
    region = settings_of(app).phone_region
    with session_scope(app) as session:
        resident = (
            _household_of(session, phone, region, member)
            if household
            else find_resident(session, phone, region, member)
        )
        role = "contact" if contact else "resident"
        code = new_code(
            session, actor, clock_of(app).now(), resident=resident, role=role, household=household
        )
        whom = (
            "、".join(r.name for r in housemates(session, resident.phone)) if household
            else resident.name
        )  # fmt: skip
        kind = f"{role}, household" if household else role
        _show_code(code.code, f"{whom} ({mask_phone(resident.phone)}), {kind}")


def _household_of(session: Session, phone: str, region: str, member: str | None) -> Resident:
    """The resident a household code is kept on: the one named, else the first registered."""
    if member is not None:
        resident = find_resident(session, phone, region, member)
    else:
        try:
            everyone = housemates(session, normalize_phone(phone, region))
        except PhoneError as exc:
            raise click.ClickException(f"{phone!r}: {exc}") from None
        resident = everyone[0] if everyone else find_resident(session, phone, region)
    if len(housemates(session, resident.phone)) < 2:
        raise click.ClickException(
            f"{mask_phone(resident.phone)} is {resident.name}'s alone: leave out --household"
        )
    return resident


@residents.command("unlink")
@click.argument("phone")
@click.option("--by", "actor", default="cli", help="Who unlinks.")
@member_option
@pass_pingan
def unlink(pingan: Pingan, phone: str, actor: str, member: str | None) -> None:
    """Unlink every Telegram chat of a resident (their own and their family's)."""
    app = pingan.app
    with session_scope(app) as session:
        resident = find_resident(session, phone, settings_of(app).phone_region, member)
        count = unlink_resident(session, resident, actor, clock_of(app).now())
        click.echo(f"{resident.name}: {count} Telegram chats unlinked")


@staff_group.command("link")
@click.argument("staff")
@click.option("--by", "actor", default="cli", help="Who hands the code over.")
@pass_pingan
def staff_link(pingan: Pingan, staff: str, actor: str) -> None:
    """A one-time Telegram link code for a staff member: alerts with 确认 / 已处理 buttons."""
    app = _bot_app(pingan)
    with session_scope(app) as session:
        member = staff_ref(session, staff, settings_of(app).phone_region)
        code = new_code(session, actor, clock_of(app).now(), staff=member)
        _show_code(code.code, f"{member.name}, staff")


def _show_code(code: str, whom: str) -> None:
    click.echo(f"link code for {whom}: {code}")
    click.echo(f"send `/start {code}` to the bot within 48 hours (the code works once)")
