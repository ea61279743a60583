"""``pingan orders``: the service-order queue (代买代送) and its daily numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import click
from sqlalchemy.orm import Session

from ivr import clock_of, settings_of
from ivr.cli import Pingan, cli, emit_json, pass_pingan
from ivr.cli.staff import staff_ref
from ivr.db import session_scope
from ivr.domain.escalations import LifecycleError
from ivr.domain.orders import STATUSES, cancel, deliver, order_rows, order_stats, parse_eta, take
from ivr.tables import format_table
from storage import ServiceOrder

day_type = click.DateTime(["%Y-%m-%d"])


@cli.group("orders", invoke_without_command=True)
@click.option("--community", help="Only this community.")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--date", "day", type=day_type, help="Local date (YYYY-MM-DD); default all.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def orders(
    ctx: click.Context,
    community: str | None,
    status: str | None,
    day: dt.datetime | None,
    as_json: bool,
) -> None:
    """Service orders: groceries, medicine, supplies, garbage (subcommands act on one)."""
    if ctx.invoked_subcommand is not None:
        return
    pingan = ctx.ensure_object(Pingan)
    tz = settings_of(pingan.app).tz
    with session_scope(pingan.app) as session:
        rows = order_rows(session, tz, community, status, day.date() if day else None)
    if as_json:
        emit_json(rows)
        return
    headers = ["id", "date", "community", "name", "household", "address", "need", "status"]
    headers += ["taken_by", "note"]
    click.echo(format_table(headers, [[r[h] for h in headers] for r in rows]))


def _act(
    pingan: Pingan,
    order_id: int,
    by: str,
    action: Callable[[Session, str, dt.datetime], ServiceOrder],
) -> None:
    app = pingan.app
    with session_scope(app) as session:
        order = session.get(ServiceOrder, order_id)
        community = order.community_id if order else None  # unknown: the lifecycle says so
        staff = staff_ref(session, by, settings_of(app).phone_region, acting_for=community)
        try:
            order = action(session, staff.name, clock_of(app).now())
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"order {order.id} ({order.need}, {order.resident.name}): {order.status}")


@orders.command("take")
@click.argument("order_id", type=int)
@click.option("--by", required=True, help="Staff phone or name.")
@click.option("--eta", help="Expected delivery time, HH:MM or YYYY-MM-DD HH:MM (local).")
@pass_pingan
def take_(pingan: Pingan, order_id: int, by: str, eta: str | None) -> None:
    """Take an open order (接单); the resident hears it, with --eta, in their next call."""
    tz = settings_of(pingan.app).tz

    def taking(s: Session, actor: str, now: dt.datetime) -> ServiceOrder:
        when = parse_eta(eta, now, tz) if eta else None
        return take(s, order_id, actor, now, eta=when)

    _act(pingan, order_id, by, taking)


@orders.command("deliver")
@click.argument("order_id", type=int)
@click.option("--by", required=True, help="Staff phone or name.")
@click.option("--note", help="What was delivered, or anything to remember.")
@pass_pingan
def deliver_(pingan: Pingan, order_id: int, by: str, note: str | None) -> None:
    """Mark an order delivered."""
    _act(pingan, order_id, by, lambda s, actor, now: deliver(s, order_id, actor, now, note))


@orders.command("cancel")
@click.argument("order_id", type=int)
@click.option("--by", required=True, help="Staff phone or name.")
@click.option("--note", help="Why.")
@pass_pingan
def cancel_(pingan: Pingan, order_id: int, by: str, note: str | None) -> None:
    """Cancel an order that is no longer needed."""
    _act(pingan, order_id, by, lambda s, actor, now: cancel(s, order_id, actor, now, note))


@orders.command("stats")
@click.option("--from", "day_from", type=day_type, help="First local date; default 7 days ago.")
@click.option("--to", "day_to", type=day_type, help="Last local date; default today.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_pingan
def stats(
    pingan: Pingan, day_from: dt.datetime | None, day_to: dt.datetime | None, as_json: bool
) -> None:
    """Orders opened and delivered per community and day."""
    app = pingan.app
    tz = settings_of(app).tz
    last = day_to.date() if day_to else clock_of(app).now().astimezone(tz).date()
    first = day_from.date() if day_from else last - dt.timedelta(days=6)
    with session_scope(app) as session:
        rows = order_stats(session, first, last, tz)
    if as_json:
        emit_json(rows)
        return
    headers = ["date", "community", "opened", "delivered"]
    click.echo(format_table(headers, [[r[h] for h in headers] for r in rows]))
