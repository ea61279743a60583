"""``pingan purge --older-than 90d``: residents released long ago lose everything that says who
they are; the statistics of their check-ins stay."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from storage import (
    Answer,
    AuditEntry,
    CallAttempt,
    CallEvent,
    CheckIn,
    Escalation,
    Notification,
    Resident,
    ServiceOrder,
)
from tests.helpers import add_resident, run_until_settled, script

OLD, RECENT, STAYING = "+8613803710101", "+8613803710102", "+8613803710103"


def purge(app, *args: str):
    return CliRunner().invoke(cli, ["purge", *args], obj=Pingan(app=app))


def a_round_with_a_fever(app, jobs, carrier, clock) -> None:
    """Three residents checked in; the first had a fever (an escalation, an SMS to staff) and
    asked for groceries (an order)."""
    for name, phone in (("王秀英", OLD), ("李建国", RECENT), ("张桂兰", STAYING)):
        add_resident(
            app,
            name,
            phone,
            address="中原路1号",
            emergency_contact="+8613903710000",
            notes="耳背，请大声说话",
            preferred_times="10:30",
        )
    with session_scope(app) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == OLD)).one()
        resident.hold_reason = "住院"
    script(carrier, OLD, "answer 1 385# 1 1 1 9")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    with session_scope(app) as session:
        escalation = session.scalars(
            select(Escalation).where(Escalation.reason == "high_fever")
        ).one()
        escalation.detail += f"; family called from {OLD}"
        escalation.facts = [*escalation.facts, {"kind": "text", "text": f"王秀英 at {OLD}"}]
        escalation.note = "王秀英的女儿说她在睡觉"
        session.add(
            Notification(
                escalation_id=escalation.id,
                channel="sms",
                recipient="+8613903719999",
                kind="family",
                body=f"王秀英 ({OLD}) 发热 38.5",
                next_try_at=clock.now(),
                created_at=clock.now(),
            )
        )


def release(app, clock, phone: str, days_ago: int) -> None:
    with session_scope(app) as session:
        resident = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        resident.released_at = clock.now() - dt.timedelta(days=days_ago)
        resident.release_reason = f"isolation ended; contact {phone}"


def test_residents_released_over_90_days_ago_lose_their_personal_data_but_not_statistics(
    app, jobs, carrier, clock
) -> None:
    a_round_with_a_fever(app, jobs, carrier, clock)
    release(app, clock, OLD, days_ago=91)
    release(app, clock, RECENT, days_ago=89)
    with session_scope(app) as session:
        answers_before = session.execute(select(Answer.key, Answer.value).order_by(Answer.id)).all()
        checkins_before = session.execute(
            select(CheckIn.status, CheckIn.temperature_c, CheckIn.resident_id).order_by(CheckIn.id)
        ).all()

    result = purge(app, "--older-than", "90d")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 residents released before")

    with session_scope(app) as session:
        residents = {r.id: r for r in session.scalars(select(Resident))}
        old = next(r for r in residents.values() if r.name == "已清除")
        kept = sorted(r.phone for r in residents.values() if r.name != "已清除")
        attempts = session.scalars(
            select(CallAttempt).where(CallAttempt.resident_id == old.id)
        ).all()
        events = session.execute(
            select(CallEvent.kind, CallEvent.detail)
            .join(CallAttempt)
            .where(CallAttempt.resident_id == old.id)
        ).all()
        escalations = session.scalars(select(Escalation)).all()
        notifications = session.scalars(select(Notification)).all()
        orders = session.scalars(select(ServiceOrder)).all()
        audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        answers_after = session.execute(select(Answer.key, Answer.value).order_by(Answer.id)).all()
        checkins_after = session.execute(
            select(CheckIn.status, CheckIn.temperature_c, CheckIn.resident_id).order_by(CheckIn.id)
        ).all()

    # The person is gone…
    assert (old.phone, old.address, old.emergency_contact, old.notes) == (
        f"purged-{old.id}",
        None,
        None,
        None,
    )
    assert (old.preferred_times, old.hold_reason) == (None, None)
    assert OLD not in (old.release_reason or "")
    assert kept == [RECENT, STAYING]  # released 89 days ago, or still isolated: untouched
    assert all(a.phone is None and a.flow_state is None for a in attempts)
    assert ("key", "385") in events  # what was keyed is not personal: statistics
    everything = " ".join(
        [
            *(e.detail for e in escalations),
            *(str(e.facts) for e in escalations),
            *(n.recipient + n.body for n in notifications),
            *(str(o.note) for o in orders),
            *(str(e.detail) for e in audit),
        ]
    )
    for secret in (OLD, "王秀英", "138 0371 0101", "女儿", "住院"):
        assert secret not in everything, secret
    assert all(e.note is None for e in escalations)
    assert "high_fever" in {e.reason for e in escalations}
    # …the statistics are not.
    assert answers_after == answers_before
    assert checkins_after == checkins_before
    assert any(t == Decimal("38.5") for _, t, _ in checkins_after)
    assert [o.need for o in orders] == ["groceries"]
    # The audit trail says how many were purged, not who.
    assert (audit[-1].action, audit[-1].entity_id, audit[-1].detail) == (
        "purged",
        None,
        f"1 residents released before {(clock.now() - dt.timedelta(days=90)).date()}",
    )


def test_a_dry_run_only_counts_and_a_second_purge_finds_nobody(app, clock) -> None:
    add_resident(app, "王秀英", OLD)
    release(app, clock, OLD, days_ago=200)
    dry = purge(app, "--older-than", "90d", "--dry-run")
    assert dry.exit_code == 0 and dry.output.startswith("1 residents") and "would be" in dry.output
    with session_scope(app) as session:
        assert session.scalars(select(Resident.name)).one() == "王秀英"
    assert purge(app, "--older-than", "90d").output.startswith("1 residents")
    assert purge(app, "--older-than", "90d").output.startswith("0 residents")
    with session_scope(app) as session:
        assert [e.action for e in session.scalars(select(AuditEntry))].count("purged") == 1


def test_a_retention_period_must_be_given_in_days_or_more(app) -> None:
    for bad in ("soon", "3h", ""):
        result = purge(app, "--older-than", bad)
        assert result.exit_code == 2, (bad, result.output)
