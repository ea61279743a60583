"""Community notices (社区通知) staff write for the calls: added, listed and removed.

A notice runs from its first to its last local day inclusive, for one community or, written by
a supervisor, for all; ``ivr.domain.news`` reads it to each resident once a day in those days.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.domain import audit
from ivr.domain.escalations import LifecycleError
from storage import Community, Notice

log = logging.getLogger(__name__)

MAX_TEXT = 300  # read aloud: a notice longer than this is more than a resident can take in


def add(
    session: Session,
    community_id: int | None,
    text: str,
    starts_on: dt.date,
    ends_on: dt.date,
    actor: str,
    now: dt.datetime,
) -> Notice:
    text = " ".join(text.split())
    if not text:
        raise LifecycleError("a notice needs its text", "invalid")
    if len(text) > MAX_TEXT:
        raise LifecycleError(f"a notice is read aloud: at most {MAX_TEXT} characters", "invalid")
    if ends_on < starts_on:
        raise LifecycleError("a notice cannot end before it starts", "invalid")
    notice = Notice(
        community_id=community_id,
        text=text,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    audit.record(session, now, actor, "created", "notice", notice.id, text)
    log.info("notice %s added for %s until %s", notice.id, community_id or "all", ends_on)
    return notice


def remove(
    session: Session, notice_id: int, actor: str, now: dt.datetime, community_id: int | None = None
) -> Notice:
    """Stop a notice being read; ``community_id``: refused for a notice of another scope."""
    notice = session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.removed_at is not None:
        raise LifecycleError(f"there is no notice {notice_id}", "not_found")
    if community_id is not None and notice.community_id != community_id:
        raise LifecycleError(f"notice {notice_id} is not your community's", "forbidden")
    notice.removed_at = now
    audit.record(session, now, actor, "removed", "notice", notice.id)
    log.info("notice %s removed", notice.id)
    return notice


def current(
    session: Session, today: dt.date, community_id: int | None = None, *, scoped: bool = False
) -> list[Notice]:
    """Notices not yet over on ``today``; ``scoped``: only those ``community_id`` hears."""
    query = select(Notice).where(Notice.removed_at.is_(None), Notice.ends_on >= today)
    if scoped:
        query = query.where(or_(Notice.community_id.is_(None), Notice.community_id == community_id))
    return list(session.scalars(query.order_by(Notice.starts_on, Notice.id)))


def rows(session: Session, today: dt.date, community: str | None = None) -> list[dict[str, Any]]:
    """Current notices as plain rows (the CLI's table and ``--json``)."""
    names = {i: n for i, n in session.execute(select(Community.id, Community.name))}
    community_id = None
    if community is not None:
        community_id = next((i for i, n in names.items() if n == community), -1)
    return [
        {
            "id": n.id,
            "community": names.get(n.community_id) if n.community_id else None,
            "from": n.starts_on.isoformat(),
            "until": n.ends_on.isoformat(),
            "text": n.text,
            "by": n.created_by,
            "recording": n.recording,  # the uploaded file played instead of TTS, or None
        }
        for n in current(session, today, community_id, scoped=community is not None)
    ]
