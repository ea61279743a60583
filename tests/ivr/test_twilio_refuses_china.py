"""A Twilio deployment and mainland China: Twilio refuses the call, and staff are told why.

Twilio has placed no outbound call to mainland China since 30 November 2023; a request to call
a +86 number is refused with 21215 (the geo-permission refusal), and a ``From`` number the
account neither bought nor verified with 21210 (docs/carriers.md). The simulator here plays
today's Twilio account, not the China-vetted one the rest of the story suite uses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.carriers.simulator import SimulatedCarrier
from ivr.carriers.telephony import CarrierError, OutboundCall
from ivr.db import session_scope
from storage import CallAttempt, CheckIn, Escalation, Resident
from tests.conftest import AUTH_TOKEN, CALLER_ID
from tests.dashboard.pages import A, make_people, signed_in, text
from tests.helpers import add_resident, call_round, script

ZHENGZHOU = "+8613803710101"
HONG_KONG = "+85291234567"


@pytest.fixture
def carrier() -> Iterator[SimulatedCarrier]:
    simulated = SimulatedCarrier(auth_token=AUTH_TOKEN, owned_numbers={CALLER_ID})
    yield simulated
    simulated.close()


def escalation(app: Flask, resident_id: int) -> Escalation:
    with session_scope(app) as session:
        query = select(Escalation).where(Escalation.resident_id == resident_id)
        (found,) = session.scalars(query).all()
        session.expunge(found)
        return found


def test_a_mainland_number_gets_twilios_refusal_and_a_bad_phone_escalation_that_says_why(
    app, jobs, carrier, clock
) -> None:
    people = make_people(app)
    resident_id = add_resident(app, "王秀英", ZHENGZHOU, A)
    script(carrier, ZHENGZHOU, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)

    assert carrier.calls_to(ZHENGZHOU) == []  # no call was ever made
    found = escalation(app, resident_id)
    assert (found.reason, found.severity, found.status) == ("bad_phone", "high", "open")
    assert "21215" in found.detail and "Account not authorized to call" in found.detail
    with session_scope(app) as session:
        resident = session.get(Resident, resident_id)
        assert resident is not None and resident.phone_invalid_at is not None
        checkin = session.scalars(select(CheckIn).where(CheckIn.resident_id == resident_id)).one()
        assert checkin.status == "missed"  # closed, not left pending nor silently dropped
        (attempt,) = session.scalars(
            select(CallAttempt).where(CallAttempt.checkin_id == checkin.id)
        )
        assert (attempt.outcome, attempt.carrier_error_code) == ("bad_number", 21215)

    staff = signed_in(app, people.staff_a)
    page = text(staff.get(f"/escalations/{found.id}"))
    assert "Twilio 自 2023 年 11 月 30 日起不再呼叫中国大陆号码" in page
    assert "PINGAN_CARRIER=aliyun" in page
    english = text(staff.get(f"/escalations/{found.id}?lang=en"))
    assert "Twilio has not called mainland China numbers since 30 November 2023" in english
    resident_page = text(staff.get(f"/residents/{resident_id}?lang=en"))
    assert "residents in mainland China need Alibaba Cloud voice" in resident_page


def test_the_resident_refused_is_not_called_again_next_round(app, jobs, carrier, clock) -> None:
    add_resident(app, "王秀英", ZHENGZHOU)
    call_round(app, jobs, carrier, clock)
    call_round(app, jobs, carrier, clock)
    with session_scope(app) as session:
        assert len(session.scalars(select(Escalation)).all()) == 1  # not raised twice


def test_a_hong_kong_number_is_still_called_through_twilio(app, jobs, carrier, clock) -> None:
    add_resident(app, "陳美玲", HONG_KONG)
    script(carrier, HONG_KONG, "answer 1 365# 1 2 9")
    call_round(app, jobs, carrier, clock)
    (record,) = carrier.calls_to(HONG_KONG)
    assert record.status == "completed" and not record.errors


def test_a_caller_id_the_account_does_not_own_is_refused_with_21210() -> None:
    twilio = SimulatedCarrier(auth_token=AUTH_TOKEN, owned_numbers={CALLER_ID})
    try:
        with pytest.raises(CarrierError) as refused:
            twilio.place_call(
                OutboundCall(HONG_KONG, "+85230000000", "http://127.0.0.1:9/answer", "")
            )
    finally:
        twilio.close()
    assert refused.value.code == 21210
    assert twilio.calls_to(HONG_KONG) == []
