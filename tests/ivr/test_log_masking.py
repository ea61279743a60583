"""No log line carries a resident's or a staff member's full phone number.

A whole round runs through the simulated carrier with everything that logs a number nearby:
retries, a number the carrier refuses, a fever alert texted to staff and acknowledged by SMS,
a call-back from an unknown number, a text from a stranger. Every record of every logger, at
DEBUG, is searched for a full number.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from ivr import settings_of
from ivr.carriers.telephony import CarrierError, ErrorKind
from ivr.db import session_scope
from ivr.domain.rounds import start_manual_round
from ivr.worker.dial_errors import handle_refusal
from ivr.worker.dialer import queue_checkin_now
from ivr.worker.jobs import Jobs
from storage import CheckIn, Community
from tests.helpers import add_resident, run_until_settled, script
from tests.ivr.alerting import staff_member, texts_to
from tests.processes import FULL_NUMBER

STAFF = "+8613903710011"
STAFF_BAD_PHONE = "+8613903710012"  # the carrier refuses texts to it, quoting the number
APP_NUMBER = "+8657100000000"
RESIDENTS = {
    "+8613803710101": ("answer 1 365# 1 2 9",),
    "+8613803710102": ("answer 1 392# 1 1 2 9",),  # fever: staff are texted
    "+8613803710103": ("busy", "answer 1 366# 1 2 9"),
    "+8613803710104": ("reject:21211",),  # the carrier calls the number invalid
    "+8613803710105": ("reject:21215",),  # not allowed to call it
    "+8613803710106": ("no-answer",),
}


def test_a_whole_round_logs_no_full_phone_number(app, server, carrier, clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    staff_member(app, "赵红梅", STAFF)
    staff_member(app, "钱伟", STAFF_BAD_PHONE)
    carrier.script_sms_failure(STAFF_BAD_PHONE, 21211)
    for n, (phone, behaviours) in enumerate(RESIDENTS.items()):
        add_resident(app, f"居民{n}", phone)
        script(carrier, phone, *behaviours)
    jobs = Jobs(app, worker="masking")
    jobs.start_rounds()
    run_until_settled(jobs, carrier, clock)
    jobs.check_sla()
    jobs.send_alerts()
    alert = texts_to(carrier, STAFF)
    assert alert, "the fever alert was not texted"
    code = re.search(r"\b(\d{4})\b", alert[0])
    assert code is not None
    carrier.incoming_sms(STAFF, APP_NUMBER, code.group(1), f"{server}/sms/incoming")
    carrier.incoming_sms("+8613700000000", APP_NUMBER, "hello", f"{server}/sms/incoming")
    carrier.incoming_call(  # a stranger keys a resident's registered number
        "+8613600000000",
        APP_NUMBER,
        f"{server}/voice/incoming",
        "answer 13803710101#",
        status_callback=f"{server}/voice/incoming/status",
    )

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) > 50  # a round's worth of logging really was searched
    assert any("+86139****0012" in m and "not a valid phone number" in m for m in messages)
    leaks = [m for m in messages if FULL_NUMBER.search(m)]
    assert leaks == []


def test_a_carrier_message_quoting_the_number_is_logged_masked(app, caplog) -> None:
    """Twilio's error messages often quote the number ("Unable to call +86…")."""
    caplog.set_level(logging.DEBUG)
    add_resident(app, "王秀英", "+8613803710101")
    now = app.extensions["pingan.clock"].now()
    with session_scope(app) as session:
        start_manual_round(session, session.scalars(select(Community)).one(), settings_of(app), now)
        attempt = queue_checkin_now(session, session.scalars(select(CheckIn)).one(), now)
        assert attempt is not None
        for kind in (ErrorKind.REJECTED, ErrorKind.TRANSIENT, ErrorKind.AUTH):
            error = CarrierError("Unable to create record: cannot call +8613803710101", kind, 1)
            handle_refusal(session, attempt, error, settings_of(app), now)
    messages = [record.getMessage() for record in caplog.records]
    assert any("+86138****0101" in m for m in messages)
    assert not [m for m in messages if FULL_NUMBER.search(m)]
