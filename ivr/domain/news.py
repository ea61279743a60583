"""What a resident hears in the news section of a call: notices, their orders, release day.

``for_call`` puts the items in the flow's state when the call starts (the flow stays pure: it
only reads them); ``heard`` records what a turn actually spoke, so a notice is read at most
once a day and an order's news only once, and writes each one in the call's timeline.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callflows import Flow, Gather, NewsItem, Say, Transition
from ivr.domain.orders import NEEDS
from storage import CallAttempt, CallEvent, Notice, NoticeHeard, Resident, ServiceOrder

log = logging.getLogger(__name__)

DELIVERED_NEWS_DAYS = 3  # a delivery older than this is no news any more
NOTICE, RELEASE, RELEASE_MEMBER = "notice", "release_today", "release_today_member"


RELEASED_EARLY = "released_early"
# Every prompt this module speaks or texts (each language must have them all).
RECORDING_ARG = "recording"  # a notice item's uploaded file (ivr.domain.notice_recordings)
NEWS_PROMPTS = (
    NOTICE,
    RELEASE,
    RELEASE_MEMBER,
    RELEASED_EARLY,
    "garbage_collected",
    *(f"order_taken{when}" for when in ("", "_today", "_tomorrow")),
    *(f"order_delivered{when}" for when in ("", "_today", "_yesterday")),
    *(f"need_{need}" for need in NEEDS),
)


def release_text(flow: Flow, resident: Resident) -> str:
    """The text a resident released early is sent, in their language."""
    lang = flow.catalogue.resolve_language(resident.language)
    return flow.catalogue.text(RELEASED_EARLY, lang, {"community": resident.community.name})


def has_news_step(flow: Flow) -> bool:
    return any(step.type == "news" for step in flow.steps.values())


def for_call(
    session: Session, attempt: CallAttempt, flow: Flow, tz: dt.tzinfo, now: dt.datetime
) -> list[dict[str, Any]]:
    """The news items (``NewsItem.dump()``) for the resident on this call, in reading order."""
    resident = attempt.resident
    if resident is None or not has_news_step(flow):
        return []
    today = now.astimezone(tz).date()
    lang = flow.catalogue.resolve_language(attempt.language)
    items = [_notice_item(n) for n in notices_due(session, resident, today)]
    items += [_order_item(o, flow, lang, today, tz) for o in _order_news(session, resident, now)]
    return [item.dump() for item in items + _releases(session, resident, today)]


def _notice_item(notice: Notice) -> NewsItem:
    args = {"notice": notice.text, "notice_id": str(notice.id)}
    if notice.recording:  # played instead of the text where the carrier can (Twilio's <Play>)
        args[RECORDING_ARG] = notice.recording
    return NewsItem(NOTICE, args)


def _releases(session: Session, resident: Resident, today: dt.date) -> list[NewsItem]:
    """Release day, for each member whose isolation ends today: by name on a shared phone,
    since whoever answers the household's call may not be the one released."""
    query = select(Resident).where(Resident.phone == resident.phone).order_by(Resident.id)
    members = list(session.scalars(query)) or [resident]
    ending = [m for m in members if m.released_at is None and m.isolation_end() == today]
    if len(members) == 1:
        return [NewsItem(RELEASE)] if ending else []
    return [NewsItem(RELEASE_MEMBER, {"name": m.name}) for m in ending]


def notices_due(session: Session, resident: Resident, today: dt.date) -> list[Notice]:
    """The notices of the resident's community (and those for all) running today and not yet
    heard today on the resident's phone: a household hears a notice once, not once a member."""
    heard_today = exists().where(
        NoticeHeard.notice_id == Notice.id,
        NoticeHeard.resident_id.in_(_household(resident)),
        NoticeHeard.local_date == today,
    )
    query = (
        select(Notice)
        .where(
            Notice.removed_at.is_(None),
            Notice.starts_on <= today,
            Notice.ends_on >= today,
            or_(Notice.community_id.is_(None), Notice.community_id == resident.community_id),
            ~heard_today,
        )
        .order_by(Notice.starts_on, Notice.id)
    )
    return list(session.scalars(query))


def _order_news(session: Session, resident: Resident, now: dt.datetime) -> list[ServiceOrder]:
    since = now - dt.timedelta(days=DELIVERED_NEWS_DAYS)
    query = (
        select(ServiceOrder)
        .where(
            # A household's needs are asked once, stored on one member: news for any member.
            ServiceOrder.resident_id.in_(_household(resident)),
            or_(
                (ServiceOrder.status == "taken") & ServiceOrder.announced.is_(None),
                (ServiceOrder.status == "delivered")
                & or_(ServiceOrder.announced.is_(None), ServiceOrder.announced != "delivered")
                & (ServiceOrder.delivered_at >= since),
            ),
        )
        .order_by(ServiceOrder.local_date, ServiceOrder.id)
    )
    # Garbage taken is no news: the pickup itself is what the resident wants to hear of.
    return [o for o in session.scalars(query) if not (o.need == "garbage" and o.status == "taken")]


def _household(resident: Resident) -> Select[int]:
    return select(Resident.id).where(Resident.phone == resident.phone)


def _order_item(
    order: ServiceOrder, flow: Flow, lang: str, today: dt.date, tz: dt.tzinfo
) -> NewsItem:
    ids = {"order_id": str(order.id), "status": order.status}
    need = flow.catalogue.text(f"need_{order.need}", lang) if _known(flow, order.need) else ""
    if order.status == "delivered":
        if order.need == "garbage":
            return NewsItem("garbage_collected", ids)
        asked = {today: "_today", today - dt.timedelta(days=1): "_yesterday"}
        return NewsItem("order_delivered" + asked.get(order.local_date, ""), {**ids, "need": need})
    if order.eta_at is None:
        return NewsItem("order_taken", {**ids, "need": need})
    eta = order.eta_at.astimezone(tz)
    when = {today: "_today", today + dt.timedelta(days=1): "_tomorrow"}.get(eta.date())
    if when is None:
        return NewsItem("order_taken", {**ids, "need": need})
    return NewsItem("order_taken" + when, {**ids, "need": need, "time": eta.strftime("%H:%M")})


def _known(flow: Flow, need: str) -> bool:
    return flow.catalogue.has(f"need_{need}", "zh-CN")


def heard(
    session: Session,
    attempt: CallAttempt,
    transition: Transition,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> None:
    """Record the news this turn speaks: once a day for a notice, once for an order's news."""
    if attempt.resident_id is None:
        return
    for say in _spoken(transition):
        if say.prompt == NOTICE and say.args.get("notice_id", "").isdigit():
            _notice_heard(session, attempt, int(say.args["notice_id"]), tz, now)
            _timeline(session, attempt, now, NOTICE, say.args.get("notice", ""))
        elif say.args.get("order_id", "").isdigit():
            _order_told(session, int(say.args["order_id"]), say.args.get("status", ""))
            _timeline(session, attempt, now, say.prompt, say.args.get("need") or None)
        elif say.prompt in (RELEASE, RELEASE_MEMBER):
            _timeline(session, attempt, now, RELEASE, say.args.get("name"))


def _spoken(transition: Transition) -> Iterator[Say]:
    for action in transition.actions:
        if isinstance(action, Say):
            yield action
        elif isinstance(action, Gather):
            yield from action.prompts


def _notice_heard(
    session: Session, attempt: CallAttempt, notice_id: int, tz: dt.tzinfo, now: dt.datetime
) -> None:
    assert attempt.resident_id is not None
    day = now.astimezone(tz).date()
    if session.get(Notice, notice_id) is None:  # removed for good while the call went on
        return
    try:
        with session.begin_nested():
            session.add(
                NoticeHeard(
                    notice_id=notice_id,
                    resident_id=attempt.resident_id,
                    local_date=day,
                    attempt_id=attempt.id,
                    at=now,
                )
            )
    except IntegrityError:  # read again on "*", or heard in another call today: kept once
        log.debug("notice %s heard again by resident %s", notice_id, attempt.resident_id)


def _order_told(session: Session, order_id: int, status: str) -> None:
    order = session.get(ServiceOrder, order_id)
    if order is not None and status in ("taken", "delivered"):
        order.announced = status


def _timeline(
    session: Session, attempt: CallAttempt, now: dt.datetime, name: str, detail: str | None
) -> None:
    session.add(
        CallEvent(
            attempt_id=attempt.id,
            at=now,
            kind="news",
            name=name,
            detail=detail[:500] if detail else None,
        )
    )
