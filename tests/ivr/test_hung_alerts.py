"""A chat or SMS request that reached the server but hung is not sent again blindly.

One alert became 30 posts in the staff group: each try hung past the client's timeout although
the robot had posted it, and each retry posted it again. Now a try without an answer is
"possibly sent": an SMS is looked up on the carrier before it is sent again (Twilio's Messages
API takes no idempotency key), a JSON webhook gets the same ``Idempotency-Key`` on every try,
and a WeCom or DingTalk robot (which can neither be asked nor deduplicate) is not posted to a
second time. The hanging servers are those of ``tests/http_faults.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ivr.carriers.simulator import SimulatedCarrier, serve_rest
from ivr.carriers.telephony import TwilioCarrier
from ivr.domain.alerts import CHAT_LANE
from ivr.notifiers.chat import ChatNotifier
from ivr.worker.jobs import Jobs
from tests.conftest import AUTH_TOKEN
from tests.helpers import add_resident
from tests.http_faults import FaultyGateway, HangingWebhook
from tests.ivr.alerting import notifications, open_escalation, set_chat, staff_member

CLIENT_TIMEOUT_S = 0.5
ACCOUNT_SID = "AC" + "5" * 32
STAFF = ["+8613903710011", "+8613903710012", "+8613903710013"]
GRANDMA = "+8613803710103"


@pytest.fixture
def hook() -> Iterator[HangingWebhook]:
    webhook = HangingWebhook(hangs=3, hold_s=4 * CLIENT_TIMEOUT_S)
    yield webhook
    webhook.close()


def chat_jobs(app, chat_format: str) -> Jobs:
    jobs = Jobs(app, worker="w")
    jobs.senders[CHAT_LANE].notifiers[chat_format] = ChatNotifier(chat_format, CLIENT_TIMEOUT_S)
    return jobs


def run_chats(jobs: Jobs, clock, minutes: int) -> None:
    for _ in range(minutes):
        jobs.send_chats()
        clock.advance(minutes=1)


@pytest.mark.parametrize("chat_format", ["wecom", "dingtalk"])
def test_a_robot_that_hangs_after_posting_gets_the_alert_once(
    app, clock, hook: HangingWebhook, chat_format: str
) -> None:
    staff_member(app, "赵红梅", STAFF[0])
    resident = add_resident(app, "张桂兰", GRANDMA)
    set_chat(app, hook.url, chat_format)
    open_escalation(app, resident)
    run_chats(chat_jobs(app, chat_format), clock, 30)
    assert len(hook.posts) == 1  # 30 minutes of tries, no duplicate in the group
    (row,) = notifications(app, channel=chat_format)
    assert row.status == "maybe_sent" and (row.error or "").startswith("possibly sent: ")


def test_a_json_webhook_that_hangs_gets_one_idempotency_key_for_every_try(
    app, clock, hook: HangingWebhook
) -> None:
    staff_member(app, "赵红梅", STAFF[0])
    resident = add_resident(app, "张桂兰", GRANDMA)
    set_chat(app, hook.url, "json")
    open_escalation(app, resident)
    run_chats(chat_jobs(app, "json"), clock, 30)
    (row,) = notifications(app, channel="json")
    assert row.status == "sent" and len(hook.posts) == 4  # three hung, the fourth answered
    assert set(hook.keys) == {f"pingan-notification-{row.id}"}  # the receiver drops repeats


def test_a_wecom_post_that_could_not_connect_is_still_retried(app, clock) -> None:
    staff_member(app, "赵红梅", STAFF[0])
    resident = add_resident(app, "张桂兰", GRANDMA)
    set_chat(app, "http://127.0.0.1:9/cgi-bin/webhook/send?key=k", "wecom")  # nothing listens
    open_escalation(app, resident)
    run_chats(chat_jobs(app, "wecom"), clock, 10)
    (row,) = notifications(app, channel="wecom")
    assert row.status == "pending" and row.tries > 3 and not row.error.startswith("possibly")


@pytest.fixture
def simulated() -> Iterator[SimulatedCarrier]:
    carrier = SimulatedCarrier(AUTH_TOKEN, ACCOUNT_SID, china_vetted=True)
    yield carrier
    carrier.close()


@pytest.fixture
def gateway(simulated: SimulatedCarrier) -> Iterator[FaultyGateway]:
    server, url = serve_rest(simulated)
    # One text created after the client gave up, one whose answer was lost, one never created.
    plan = ["late", "lost-reply", "drop"]
    faulty = FaultyGateway(url, plan, hold_s=3 * CLIENT_TIMEOUT_S, faulted=("/Messages.json",))
    yield faulty
    faulty.close()
    server.stop()


@pytest.fixture
def carrier(gateway: FaultyGateway) -> TwilioCarrier:
    """The app's real Twilio adapter, through the faulty gateway (overrides conftest's)."""
    return TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, gateway.url, timeout_s=CLIENT_TIMEOUT_S)


def test_a_text_whose_request_hung_is_looked_up_before_it_is_sent_again(
    app, clock, gateway: FaultyGateway, simulated: SimulatedCarrier
) -> None:
    for n, phone in enumerate(STAFF):
        staff_member(app, f"值班员{n}", phone)
    open_escalation(app, add_resident(app, "张桂兰", GRANDMA))
    jobs = Jobs(app, worker="w")
    for _ in range(10):
        jobs.send_texts()
        assert gateway.wait_idle(30)  # the late text has reached the carrier
        clock.advance(minutes=1)
    assert gateway.seen[:3] == ["late", "lost-reply", "drop"]
    duplicates = {p: len(simulated.messages_to(p)) - 1 for p in STAFF}
    assert duplicates == {p: 0 for p in STAFF}
    rows = notifications(app, channel="sms")
    assert {r.status for r in rows} == {"sent"}
    sids = {r.recipient: r.provider_id for r in rows}
    assert all(sids[p] == simulated.messages_to(p)[0].sid for p in STAFF)
