"""One reading that opens several escalations (a high fever with symptoms) is one card, one
text per person naming every reason, and one code that acknowledges them all."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from ivr.db import session_scope
from ivr.worker.jobs import Jobs
from storage import Escalation
from tests.dashboard.pages import post, signed_in, text
from tests.helpers import add_resident, call_round, script
from tests.ivr.alerting import texts_to
from tests.ivr.test_sms_ack import APP_NUMBER

GRANDMA = "+8613803710103"
ALICE = "+8613903710011"  # people.staff_a, on 中原社区's staff


def escalations_of(app: Flask, resident_id: int) -> list[Escalation]:
    with session_scope(app) as session:
        query = select(Escalation).where(Escalation.resident_id == resident_id)
        found = list(session.scalars(query.order_by(Escalation.id)))
        session.expunge_all()
        return found


def feverish_call(app: Flask, jobs: Jobs, carrier, clock) -> tuple[int, list[Escalation]]:
    grandma = add_resident(app, "张桂兰", GRANDMA)
    script(carrier, GRANDMA, "answer 1 394# 1 1 9")  # 39.4 °C, confirmed, has symptoms
    script(carrier, "+8613803710102", "answer 1 365# 1 2 9")  # 李建国 is fine
    script(carrier, "+8613803710201", "answer 1 365# 1 2 9")  # 杨志强 too
    call_round(app, jobs, carrier, clock)
    opened = escalations_of(app, grandma)
    assert {e.reason for e in opened} >= {"high_fever", "symptoms"}
    return grandma, opened


def test_a_high_fever_with_symptoms_is_one_text_with_both_reasons_and_one_code(
    app, people, server, jobs: Jobs, carrier, clock
) -> None:
    grandma, opened = feverish_call(app, jobs, carrier, clock)
    assert len({e.ack_code for e in opened}) == 1
    jobs.send_texts()
    (sms,) = texts_to(carrier, ALICE)
    assert "高热" in sms and "有症状" in sms and f"回复 {opened[0].ack_code} 确认" in sms

    status, _ = carrier.incoming_sms(
        ALICE, APP_NUMBER, opened[0].ack_code, f"{server}/sms/incoming"
    )
    assert status == 200
    assert {e.status for e in escalations_of(app, grandma)} == {"acknowledged"}


def test_the_dashboard_shows_one_card_for_the_reading_and_resolving_it_resolves_all(
    app, people, server, jobs: Jobs, carrier, clock
) -> None:
    grandma, opened = feverish_call(app, jobs, carrier, clock)
    client = signed_in(app, people.staff_a)
    page = text(client.get("/escalations"))
    cards = [c for c in page.split('<li class="card escalation')[1:] if "张桂兰" in c]
    assert len(cards) == 1
    assert "高热" in cards[0] and "症状" in cards[0] and "sev-urgent" in cards[0][:40]
    done = post(client, f"/escalations/{opened[-1].id}/resolve", {"outcome": "visited"})
    assert done.status_code == 302
    assert {e.status for e in escalations_of(app, grandma)} == {"resolved"}


def test_symptoms_keyed_seconds_after_the_fever_still_go_in_the_same_text(
    app, people, server, jobs: Jobs, carrier, clock
) -> None:
    import datetime as dt
    from decimal import Decimal

    from ivr import settings_of
    from ivr.domain.escalations import raise_escalation
    from storage import CheckIn, Resident

    grandma = add_resident(app, "张桂兰", GRANDMA)
    with session_scope(app) as session:
        now = clock.now()
        checkin = CheckIn(
            resident_id=grandma, local_date=dt.date(2026, 11, 28), status="pending",
            closes_at=now + dt.timedelta(hours=8), needs=[], created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(checkin)
        session.flush()
        checkin_id = checkin.id
        resident = session.get(Resident, grandma)
        raise_escalation(
            session, resident, "high_fever", "urgent", "39.4 °C ≥ 38.5 °C", now, checkin,
            Decimal("39.4"), settings=settings_of(app),
        )  # fmt: skip
    clock.advance(seconds=12)  # two more questions later, in the same call
    jobs.send_texts()
    assert texts_to(carrier, ALICE) == []  # held while the call goes on
    with session_scope(app) as session:
        raise_escalation(
            session, session.get(Resident, grandma), "symptoms", "high", "symptoms = yes",
            clock.now(), session.get(CheckIn, checkin_id), settings=settings_of(app),
        )  # fmt: skip
    clock.advance(seconds=30)
    jobs.send_texts()
    (sms,) = texts_to(carrier, ALICE)
    assert "高热、有症状" in sms
    assert len({e.ack_code for e in escalations_of(app, grandma)}) == 1
