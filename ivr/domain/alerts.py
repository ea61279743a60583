"""Telling people about escalations: notifications are stored first, then sent by the worker.

1. ``queue_opened`` runs in the transaction that opens an urgent or high escalation: one SMS row
   per on-duty staff phone, one chat row if the community has a webhook, a family SMS for an
   unreachable resident whose emergency contact asked to be told; and the SLA deadline.
2. ``check_sla`` (a job): an escalation still ``open`` past ``remind_at`` is claimed with a
   conditional UPDATE, gets ``reminder-N`` rows for on-duty staff *and* supervisors (and the
   chat), and its next deadline. Acknowledging clears the deadline.
3. ``queue_recovered`` runs when the resident of an ``unreachable``/``no_response`` escalation
   checks in after all: every staff phone and chat that was alerted gets a short "已恢复"; alerts
   and reminders not yet sent are cancelled instead (nobody needs to hear of it any more).
4. ``AlertSender.run_once`` (a job): due rows are claimed ``pending`` → ``sending`` with a
   conditional UPDATE in their own transaction (so two workers never send one twice), sent
   outside any transaction, then marked ``sent`` or tried again with a backoff capped at
   ``PINGAN_ALERT_RETRY_MAX``: an outage delays an alert, it never drops it. Only a permanent
   refusal (a bad number) ends a row as ``failed``. A staff alert whose escalation is no longer
   ``open`` is ``cancelled`` instead of sent: nobody gets a text about something already handled.
   A row left ``sending`` by a worker that died is put back after ``STUCK_AFTER_S``.
   A try that reached the target but got no answer is ``UNSURE``: it is repeated only where
   that makes no duplicate (see ``ivr.notifiers.base``), else the row ends ``maybe_sent``.
4. The other lane: a row that failed ``PINGAN_ALERT_FALLBACK_AFTER`` times (or was refused for
   good) has its alert queued on the other lane too (SMS → the group chat, chat → the staff's
   SMS), for recipients that have no row for that alert yet, so no lane carries it twice.
5. ``failing``: rows still undelivered ``PINGAN_ALERTS_FAILING_AFTER`` after they were queued;
   ``pingan health`` and the escalation page show them as "alerts failing".
Each row is independent, so a failing group chat never holds up an SMS, nor the other way round.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, replace

from flask_babel import force_locale
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, object_session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from ivr.carriers.telephony import TextMessage
from ivr.clock import Clock
from ivr.config import Settings
from ivr.domain import audit, channels
from ivr.domain.staff import alert_targets, on_duty, supervisors
from ivr.notifiers import Alert, Notifier, NotifyError, compose
from ivr.phones import display_phone, mask_phones_in
from storage import CheckIn, Escalation, Notification
from storage.queries import escalation_siblings

log = logging.getLogger(__name__)

ALERTING = ("urgent", "high")
BACKOFF_S = 30  # 30 s, 1 min, 2 min, … up to PINGAN_ALERT_RETRY_MAX between tries
UNSURE = "possibly sent: "  # the error of a row whose request may have been delivered
STUCK_AFTER_S = 300
SMS_LANE, CHAT_LANE = "sms", "chat"
MAX_REMINDERS = 3


def sla_s(severity: str, settings: Settings) -> int | None:
    """How long an escalation of ``severity`` may stay unacknowledged (None: no SLA)."""
    return {"urgent": settings.ack_urgent_s, "high": settings.ack_high_s}.get(severity)


def queue_opened(
    session: Session, escalation: Escalation, settings: Settings, now: dt.datetime
) -> int:
    """Queue the first messages about a new (or newly serious) escalation; returns how many."""
    if escalation.severity not in ALERTING:
        return 0
    _set_deadline(escalation, settings, now)
    resident = escalation.resident
    targets = alert_targets(session, escalation.community, now, settings.tz, settings.duty_phone)
    if targets.via == "nobody":
        log.error(
            "escalation %s: community %s has no one on duty, no supervisor and no duty phone:"
            " no one can be texted",
            escalation.id,
            escalation.community_id,
        )
    elif targets.via != "duty":
        log.warning(
            "escalation %s: community %s has no one on duty; texting the %s instead",
            escalation.id,
            escalation.community_id,
            targets.via.replace("_", " "),
        )
    if _joined_sibling(session, escalation, settings):
        return 0
    due = now + dt.timedelta(seconds=GATHER_S) if _in_live_call(session, escalation) else now
    queued = _queue(session, escalation, "opened", targets.phones, settings, now, due=due)
    if escalation.reason == "unreachable" and resident.notify_family and resident.emergency_contact:
        queued += _queue(session, escalation, "family", [], settings, now, family=True)
    log.info("escalation %s: %d notifications queued", escalation.id, queued)
    return queued


# A reading found during a call waits this long (or until the call ends) before staff are
# texted, so the rest of the call's answers (symptoms after a fever) go in the same text.
GATHER_S = 30


def _in_live_call(session: Session, escalation: Escalation) -> bool:
    checkin = session.get(CheckIn, escalation.checkin_id) if escalation.checkin_id else None
    return checkin is not None and checkin.status == "pending"


def release_held(session: Session, checkin: CheckIn, now: dt.datetime) -> None:
    """The call ended: its held first alerts are due now. (By resident first: that column is
    indexed, and this runs at the end of every call.)"""
    opened_here = select(Escalation.id).where(
        Escalation.resident_id == checkin.resident_id, Escalation.checkin_id == checkin.id
    )
    session.execute(
        update(Notification)
        .where(
            Notification.escalation_id.in_(opened_here),
            Notification.kind == "opened",
            Notification.status == "pending",
            Notification.next_try_at > now,
            Notification.tries == 0,
        )
        .values(next_try_at=now)
    )


def _joined_sibling(session: Session, escalation: Escalation, settings: Settings) -> bool:
    """One reading that opens several escalations (a high fever and symptoms) is one text per
    person: this escalation joins the first one's queued messages, which are written again
    with every reason, and its reminders come with that one's."""
    first = session.scalars(escalation_siblings(escalation)).first()
    if first is None:
        return False
    rows = list(
        session.scalars(
            select(Notification).where(
                Notification.escalation_id == first.id,
                Notification.kind == "opened",
                Notification.status == "pending",
                Notification.tries == 0,
            )
        )
    )
    if not rows:
        return False  # already on its way: this one is told on its own
    alert = alert_for(first, "opened", settings)
    for row in rows:
        _write(row, compose(row.channel, alert))
    if escalation.remind_at is not None:
        first.remind_at = min(filter(None, (first.remind_at, escalation.remind_at)))
    escalation.remind_at = None
    log.info("escalation %s: told together with escalation %s", escalation.id, first.id)
    return True


def severity_raised(
    session: Session, escalation: Escalation, before: str, settings: Settings, now: dt.datetime
) -> None:
    """A later event made an open escalation more serious: alert now, or tighten the SLA."""
    if escalation.status != "open":
        return
    if before not in ALERTING:
        queue_opened(session, escalation, settings, now)
        return
    limit = sla_s(escalation.severity, settings)
    if limit is not None and escalation.remind_at is not None:
        escalation.remind_at = min(escalation.remind_at, now + dt.timedelta(seconds=limit))


def _set_deadline(escalation: Escalation, settings: Settings, now: dt.datetime) -> None:
    limit = sla_s(escalation.severity, settings)
    if escalation.status == "open" and limit is not None:
        escalation.remind_at = now + dt.timedelta(seconds=limit)


def alert_for(escalation: Escalation, kind: str, settings: Settings) -> Alert:
    resident, community = escalation.resident, escalation.community
    together = _told_together(escalation) if kind != "recovered" else []
    return Alert(
        escalation_id=escalation.id,
        kind=kind.split("-")[0],
        reason=escalation.reason,
        also=tuple(e.reason for e in together),
        severity=max(
            [escalation, *together], key=lambda e: SEVERITY_ORDER.get(e.severity, 0)
        ).severity,
        resident=resident.name,
        phone=resident.phone,
        phone_display=display_phone(resident.phone, settings.phone_region),
        address=resident.address or "",
        community=community.name,
        hotline=display_phone(community.hotline, settings.phone_region)
        if community.hotline
        else None,
        temperature_c=escalation.temperature_c,
        temperature_confirmed=escalation.temperature_confirmed,
        opened_at=escalation.opened_at,
        opened_local=escalation.opened_at.astimezone(settings.tz).strftime("%m-%d %H:%M"),
        ack_code=escalation.ack_code,
        detail=escalation.detail,
        latest=_latest(escalation, settings),
        reminder=escalation.reminders if kind.startswith("reminder") else 0,
        waited_min=int((sla_s(escalation.severity, settings) or 0) * escalation.reminders / 60),
        replies=settings.two_way_sms,
    )


SEVERITY_ORDER = {"normal": 0, "high": 1, "urgent": 2}


def _latest(escalation: Escalation, settings: Settings) -> str:
    """The newest event in the dashboard's Chinese words, whoever's request raised it."""
    # Imported here: the dashboard's pages import this module.
    from ivr.web.dashboard import escalation_words
    from ivr.web.dashboard.i18n import DEFAULT as CHINESE

    with force_locale(CHINESE):
        return escalation_words.latest(escalation.facts, escalation.detail, settings.tz)


def _told_together(escalation: Escalation) -> list[Escalation]:
    """The still-open escalations of the same reading, named in the same message."""
    session = object_session(escalation)
    if session is None:
        return []
    return [e for e in session.scalars(escalation_siblings(escalation)) if e.status == "open"]


def queue_recovered(
    session: Session,
    escalation: Escalation,
    checkin: CheckIn,
    settings: Settings,
    now: dt.datetime,
) -> int:
    """Tell the staff phones and chats that were alerted that the resident checked in."""
    earlier = list(
        session.scalars(
            select(Notification).where(
                Notification.escalation_id == escalation.id, Notification.kind != "family"
            )
        )
    )
    for row in earlier:
        if row.status == "pending":
            row.status = "cancelled"
    alerted = dict.fromkeys(
        (row.channel, row.recipient) for row in earlier if row.status in ("sending", "sent")
    )
    alert = replace(
        alert_for(escalation, "recovered", settings),
        reading_c=checkin.temperature_c,
        reading_local=now.astimezone(settings.tz).strftime("%H:%M"),
    )
    for channel, recipient in alerted:
        session.add(_row(escalation, channel, recipient, "recovered", compose(channel, alert), now))
    log.info("escalation %s: %d recovery notifications queued", escalation.id, len(alerted))
    return len(alerted)


def _row(
    escalation: Escalation,
    channel: str,
    recipient: str,
    kind: str,
    message: TextMessage,
    now: dt.datetime,
    due: dt.datetime | None = None,
) -> Notification:
    row = Notification(
        escalation_id=escalation.id,
        channel=channel,
        recipient=recipient,
        kind=kind,
        status="pending",
        tries=0,
        next_try_at=due or now,
        created_at=now,
    )
    _write(row, message)
    return row


def _write(row: Notification, message: TextMessage) -> None:
    row.body = message.body
    row.params = json.dumps(dict(message.params), ensure_ascii=False) if message.params else None


def stored_message(row: Notification) -> TextMessage:
    """The message a row holds; its template is the row's kind (``reminder-2`` → reminder)."""
    params = json.loads(row.params) if row.params else {}
    return TextMessage(row.body, row.kind.split("-")[0], params)


def _queue(
    session: Session,
    escalation: Escalation,
    kind: str,
    phones: list[str],
    settings: Settings,
    now: dt.datetime,
    *,
    family: bool = False,
    due: dt.datetime | None = None,
) -> int:
    """Rows for ``phones`` plus the community chat; or only the family SMS."""
    targets: list[tuple[str, str]] = [(SMS_LANE, p) for p in dict.fromkeys(phones)]
    if family:
        targets = [(SMS_LANE, escalation.resident.emergency_contact or "")]
    else:
        targets += channels.staff_targets(session, list(dict.fromkeys(phones)), settings)
        targets += _chat_target(escalation)
    return _add_rows(session, escalation, kind, targets, settings, now, due)


def _chat_target(escalation: Escalation) -> list[tuple[str, str]]:
    community = escalation.community
    if not community.chat_webhook_url:
        return []
    return [(community.chat_format or "json", community.chat_webhook_url)]


def _add_rows(
    session: Session,
    escalation: Escalation,
    kind: str,
    targets: list[tuple[str, str]],
    settings: Settings,
    now: dt.datetime,
    due: dt.datetime | None = None,
) -> int:
    alert = alert_for(escalation, kind, settings)
    for channel, recipient in targets:
        message = compose(channel, alert)
        session.add(_row(escalation, channel, recipient, kind, message, now, due))
    return len(targets)


def check_sla(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Send reminders for escalations nobody acknowledged in time; returns how many."""
    query = (
        select(Escalation.id, Escalation.remind_at)
        .where(Escalation.status == "open", Escalation.remind_at <= now)
        .order_by(Escalation.remind_at)
        .with_for_update(skip_locked=True)
    )
    reminded = 0
    for escalation_id, deadline in session.execute(query).all():
        claimed = session.execute(
            update(Escalation)
            .where(
                Escalation.id == escalation_id,
                Escalation.status == "open",
                Escalation.remind_at == deadline,
            )
            .values(reminders=Escalation.reminders + 1)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _remind(session, escalation_id, settings, now)
            reminded += 1
    return reminded


def _remind(session: Session, escalation_id: int, settings: Settings, now: dt.datetime) -> None:
    escalation = session.get(Escalation, escalation_id, populate_existing=True)
    assert escalation is not None
    limit = sla_s(escalation.severity, settings) or settings.ack_high_s
    more = escalation.reminders < MAX_REMINDERS
    escalation.remind_at = now + dt.timedelta(seconds=limit) if more else None
    kind = f"reminder-{escalation.reminders}"
    phones = _staff_phones(session, escalation, kind, settings, now)
    count = _queue(session, escalation, kind, phones, settings, now)
    audit.record(
        session,
        now,
        audit.SYSTEM,
        "reminded",
        "escalation",
        escalation.id,
        f"{kind}: {count} messages",
    )
    log.warning(
        "escalation %s not acknowledged in time: %s queued to %d recipients%s",
        escalation.id,
        kind,
        count,
        "" if more else " (last reminder)",
    )


def _staff_phones(
    session: Session, escalation: Escalation, kind: str, settings: Settings, now: dt.datetime
) -> list[str]:
    """Who is texted an alert of ``kind``: reminders go to the supervisors as well."""
    if kind.startswith("reminder-"):
        phones = [s.phone for s in on_duty(session, escalation.community_id, now, settings.tz)]
        phones += [s.phone for s in supervisors(session, escalation.community_id)]
        if phones:
            return phones
    return alert_targets(
        session, escalation.community, now, settings.tz, settings.duty_phone
    ).phones


def _staff_alert() -> ColumnElement[bool]:
    """Rows about an escalation for staff (not the family's text, nor any later kind)."""
    return or_(Notification.kind == "opened", Notification.kind.startswith("reminder-"))


def cancel_closed(session: Session, now: dt.datetime, lane: str) -> int:
    """Due staff alerts of escalations acknowledged or resolved meanwhile are not sent."""
    closed = select(Escalation.id).where(Escalation.status != "open")
    result = session.execute(
        update(Notification)
        .where(
            Notification.status == "pending",
            Notification.next_try_at <= now,
            _in_lane(lane),
            _staff_alert(),
            Notification.escalation_id.in_(closed),
        )
        .values(status="cancelled", claimed_by=None)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        log.info("%d %s alerts cancelled: their escalations are no longer open", count, lane)
    return count


def requeue_stuck(session: Session, now: dt.datetime) -> int:
    """Rows a dead worker left ``sending`` go back to the queue, as possibly sent: the worker
    may have died after the send, so the next try checks first where the target allows it."""
    cutoff = now - dt.timedelta(seconds=STUCK_AFTER_S)
    result = session.execute(
        update(Notification)
        .where(Notification.status == "sending", Notification.claimed_at < cutoff)
        .values(
            status="pending",
            claimed_by=None,
            next_try_at=now,
            error=UNSURE + "its worker stopped while sending",
        )
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    if count:
        log.warning("%d notifications re-queued: their worker stopped while sending", count)
    return count


def claim_due(session: Session, now: dt.datetime, worker: str, limit: int, lane: str) -> list[int]:
    """Claim up to ``limit`` due rows of ``lane`` for this worker (each row by one worker)."""
    query = (
        select(Notification.id)
        .where(Notification.status == "pending", Notification.next_try_at <= now, _in_lane(lane))
        .order_by(Notification.next_try_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for notification_id in session.scalars(query).all():
        result = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.status == "pending")
            .values(
                status="sending",
                claimed_by=worker,
                claimed_at=now,
                tries=Notification.tries + 1,
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(notification_id)
    return claimed


def _in_lane(lane: str) -> ColumnElement[bool]:
    sms = Notification.channel == SMS_LANE
    return sms if lane == SMS_LANE else ~sms


def mark_sent(row: Notification, provider_id: str | None, now: dt.datetime) -> None:
    row.status, row.sent_at, row.provider_id, row.error = "sent", now, provider_id, None


def mark_failed(
    row: Notification,
    exc: NotifyError,
    now: dt.datetime,
    settings: Settings,
    resends_unsure: bool = True,
) -> bool:
    """Try again later with a capped exponential backoff; give up if the refusal is permanent;
    stop at ``maybe_sent`` when the request may have arrived and the target cannot deduplicate.

    Returns whether the alert is now due on the other lane (this try was the last straw)."""
    # Once a try may have arrived, every later one must first check (the mark stays).
    unsure = exc.unsure or (row.error or "").startswith(UNSURE)
    row.error = ((UNSURE if unsure else "") + str(exc))[:500]
    row.claimed_by = None
    if exc.unsure and not resends_unsure:
        row.status = "maybe_sent"
        log.warning(
            "notification %s (%s): no answer to try %d, possibly sent; not repeated (the target"
            " cannot deduplicate a second post)",
            row.id,
            row.channel,
            row.tries,
        )
        return True
    if exc.permanent:
        row.status = "failed"
        log.error(
            "notification %s (%s) refused for good after %d tries: %s",
            row.id,
            row.channel,
            row.tries,
            mask_phones_in(str(exc)),
        )
        return True
    row.status = "pending"
    wait = min(BACKOFF_S * 2 ** min(row.tries - 1, 16), settings.alert_retry_max_s)
    row.next_try_at = now + dt.timedelta(seconds=wait)
    log.warning(
        "notification %s (%s) try %d failed, retry at %s: %s",
        row.id,
        row.channel,
        row.tries,
        row.next_try_at.isoformat(),
        mask_phones_in(str(exc)),
    )
    return row.tries == settings.alert_fallback_after


def fall_back(session: Session, row: Notification, settings: Settings, now: dt.datetime) -> int:
    """Queue ``row``'s alert on the other lane, for recipients with no row for it yet."""
    escalation = session.get(Escalation, row.escalation_id) if row.escalation_id else None
    if escalation is None or escalation.status != "open" or not is_staff_kind(row.kind):
        return 0
    if row.channel == SMS_LANE:
        targets = _chat_target(escalation)
    else:
        phones = _staff_phones(session, escalation, row.kind, settings, now)
        targets = [(SMS_LANE, p) for p in dict.fromkeys(phones)]
    count = queue_untold(session, escalation, row.kind, targets, settings, now)
    log.warning(
        "notification %s (%s) keeps failing: %s by the other lane (%d new recipients)",
        row.id,
        row.channel,
        "also sent" if count else "no other lane to send it",
        count,
    )
    return count


def queue_untold(
    session: Session,
    escalation: Escalation,
    kind: str,
    targets: list[tuple[str, str]],
    settings: Settings,
    now: dt.datetime,
) -> int:
    """Queue the alert ``kind`` to those of ``targets`` (channel, recipient) that have no row
    for it yet, so nobody is told one alert twice; returns how many rows were added."""
    told = told_of(session, escalation.id, kind)
    new = [t for t in dict.fromkeys(targets) if t not in told]
    return _add_rows(session, escalation, kind, new, settings, now)


def told_of(session: Session, escalation_id: int, kind: str) -> set[tuple[str, str]]:
    """The (channel, recipient) pairs with a row for the alert ``kind`` of an escalation."""
    rows = select(Notification.channel, Notification.recipient).where(
        Notification.escalation_id == escalation_id, Notification.kind == kind
    )
    return {(channel, recipient) for channel, recipient in session.execute(rows).all()}


def is_staff_kind(kind: str) -> bool:
    return kind == "opened" or kind.startswith("reminder-")


def failing(
    session: Session, now: dt.datetime, after_s: int, community_id: int | None = None
) -> dict[str, int]:
    """Per lane, the alerts that failed and are still undelivered ``after_s`` after queueing."""
    query = (
        select(Notification.channel, func.count())
        .join(Escalation, Escalation.id == Notification.escalation_id)
        .where(
            Escalation.status == "open",  # the others' rows are about to be cancelled
            Notification.status == "pending",
            Notification.error.is_not(None),
            Notification.created_at <= now - dt.timedelta(seconds=after_s),
        )
        .group_by(Notification.channel)
    )
    if community_id is not None:
        query = query.where(Escalation.community_id == community_id)
    counts = {SMS_LANE: 0, CHAT_LANE: 0}
    for channel, count in session.execute(query).all():
        counts[SMS_LANE if channel == SMS_LANE else CHAT_LANE] += int(count)
    return counts


@dataclass
class AlertSender:
    """One worker's sender for one lane. ``run_once`` sends what is due now; returns how many
    were sent. Text messages and group chats are separate lanes, run as separate jobs: a chat
    server that hangs for its whole timeout must never hold up the SMS behind it."""

    sessions: sessionmaker[Session]
    notifiers: dict[str, Notifier]
    clock: Clock
    worker: str
    settings: Settings
    lane: str = SMS_LANE
    batch: int = 50

    def run_once(self) -> int:
        with self.sessions.begin() as session:
            now = self.clock.now()
            requeue_stuck(session, now)
            cancel_closed(session, now, self.lane)
            claimed = claim_due(session, now, self.worker, self.batch, self.lane)
        return sum(self._deliver(notification_id) for notification_id in claimed)

    def _deliver(self, notification_id: int) -> int:
        with self.sessions.begin() as session:
            row = session.get(Notification, notification_id)
            assert row is not None
            if row.status != "sending" or row.claimed_by != self.worker:
                # Re-queued as stuck and taken by another worker while this batch ran long.
                log.warning("notification %s: no longer ours, not sent again", notification_id)
                return 0
            channel, recipient, message = row.channel, row.recipient, stored_message(row)
            unsure, queued_at = (row.error or "").startswith(UNSURE), row.created_at
        try:
            provider_id = self._send(
                notification_id, channel, recipient, message, unsure, queued_at
            )
        except NotifyError as exc:
            error: NotifyError | None = exc
        except Exception as exc:  # a bug in a notifier must not leave the row "sending"
            log.exception("notification %s: notifier %s crashed", notification_id, channel)
            error = NotifyError(f"crashed: {exc!r}")
        else:
            error = None
        with self.sessions.begin() as session:
            row = session.get(Notification, notification_id, with_for_update=True)
            assert row is not None
            now = self.clock.now()
            if error is None:
                mark_sent(row, provider_id, now)
            elif mark_failed(row, error, now, self.settings, self._resends_unsure(channel)):
                fall_back(session, row, self.settings, now)
        return 1 if error is None else 0

    def _send(
        self,
        notification_id: int,
        channel: str,
        recipient: str,
        message: TextMessage,
        unsure: bool,
        queued_at: dt.datetime,
    ) -> str | None:
        """Send, unless an earlier try whose answer was lost turns out to have been delivered."""
        notifier = self._notifier(channel)
        reference = f"pingan-notification-{notification_id}"
        message = replace(message, reference=reference)  # the text's OutId on Alibaba Cloud
        if unsure:
            found = notifier.already_sent(recipient, message, queued_at)
            if found is not None:
                log.warning(
                    "notification %s (%s) was delivered by an earlier try (%s): not sent again",
                    notification_id,
                    channel,
                    found,
                )
                return found
        return notifier.send(recipient, message, reference)

    def _resends_unsure(self, channel: str) -> bool:
        notifier = self.notifiers.get(channel)
        return notifier is not None and notifier.resends_unsure

    def _notifier(self, channel: str) -> Notifier:
        notifier = self.notifiers.get(channel)
        if notifier is None:
            raise NotifyError(f"no notifier for channel {channel!r}", permanent=True)
        return notifier
