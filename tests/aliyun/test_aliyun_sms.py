"""Staff texts in mainland China go through Alibaba Cloud 短信服务: an approved template and its
variables, never free text. The official SDK talks to the local SMS simulator, which checks its
signature and refuses what SendSms refuses, and pushes each text's delivery report (SmsReport) to
the app's console URL; the notification rows and the escalation's history are the evidence.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
import requests
from alibabacloud_dysmsapi20170525 import models
from click.testing import CliRunner
from darabonba.runtime import RuntimeOptions
from sqlalchemy import update

from ivr.carriers.aliyun import callbacks
from ivr.carriers.aliyun.sms import MAX_VARIABLE, AliyunSms
from ivr.carriers.aliyun.sms_simulator import AliyunSmsSimulator
from ivr.carriers.telephony import CarrierError, ErrorKind, TextMessage
from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain import orders
from ivr.domain.alerts import BACKOFF_S, STUCK_AFTER_S
from ivr.domain.escalations import history
from ivr.worker.jobs import Jobs
from storage import Notification, Resident
from tests.aliyun.conftest import CALLBACK_SECRET, KEY_ID, KEY_SECRET, SIGN_NAME, TEMPLATES
from tests.conftest import SHANGHAI
from tests.dashboard.pages import person, signed_in, text
from tests.helpers import add_community, add_resident
from tests.ivr.alerting import escalation, notifications, open_escalation, staff_member

ALICE = "+8613903710011"  # 赵红梅, on duty in 中原社区
GRANDMA = "+8613803710103"
ADDRESS = "桐柏路88号院6号楼3单元101"


@pytest.fixture
def staffed(app) -> int:
    staff_member(app, "赵红梅", ALICE)
    return add_resident(app, "张桂兰", GRANDMA, address=ADDRESS)


def send_alerts(app) -> int:
    return Jobs(app, worker="w").send_alerts()


def test_an_urgent_escalation_texts_the_duty_staff_with_the_approved_template(
    app, sms_platform, staffed
) -> None:
    escalation_id = open_escalation(app, staffed)
    assert send_alerts(app) == 1
    (text,) = sms_platform.messages_to(ALICE)
    assert text.template == TEMPLATES["opened"] and text.extra == {"sign": SIGN_NAME}
    assert text.params == {
        "severity": "紧急",
        "community": "中原社区",
        "resident": "张桂兰",
        "phone": "13803710103",
        "reason": "高热",
        "temperature": "39.2℃",
        "address": ADDRESS,
        "time": "11-28 09:00",
    }
    assert text.body == (
        "【中原社区】紧急预警：中原社区居民张桂兰，高热，体温39.2℃。地址：桐柏路88号院6号楼3单元101，"
        "电话：13803710103，时间：11-28 09:00。请在平安工作台确认。"
    )
    (row,) = notifications(app, recipient=ALICE)
    assert (row.status, row.tries, row.provider_id) == ("sent", 1, text.sid)
    # Nobody can reply in mainland China: the stored words do not ask for the code either.
    code = escalation(app, escalation_id).ack_code
    assert "回复" not in row.body and str(code) not in row.body
    assert row.body.endswith("请在平安工作台确认")


def test_a_long_name_and_a_link_in_the_address_are_cut_and_defused_not_refused(
    app, sms_platform
) -> None:
    staff_member(app, "赵红梅", ALICE)
    name = "阿卜杜热合曼·买买提艾力·" * 4  # longer than a variable takes
    resident = add_resident(app, name, GRANDMA, address="详见 http://evil.example/登记 或 www.x.cn")
    open_escalation(app, resident)
    assert send_alerts(app) == 1
    (text,) = sms_platform.messages_to(ALICE)
    assert len(text.params["resident"]) == MAX_VARIABLE
    assert text.params["resident"] == name[: MAX_VARIABLE - 1] + "…"
    assert "http" not in text.params["address"] and "www." not in text.params["address"]
    assert "evil·example/登记" in text.params["address"]


@pytest.mark.parametrize("fault", ["template under review", "signature not ours"])
def test_a_refused_template_or_signature_fails_the_text_with_a_log_line(
    app, sms_platform, staffed, caplog, fault
) -> None:
    if fault == "template under review":
        sms_platform.account.templates[TEMPLATES["opened"]].status = 0
        code = "isv.SMS_TEMPLATE_ILLEGAL"
    else:
        sms_platform.account.sign_names = {"别的社区": 1}
        code = "isv.SMS_SIGNATURE_ILLEGAL"
    open_escalation(app, staffed)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        assert send_alerts(app) == 0
    (row,) = notifications(app, recipient=ALICE)
    # A refusal of this message is permanent under the retry rules: it is not tried again.
    assert row.status == "failed" and row.tries == 1 and code in (row.error or "")
    assert any(code in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)
    assert sms_platform.messages == []


def test_flow_control_delays_a_text_it_does_not_drop_it(app, sms_platform, staffed, clock) -> None:
    sms_platform.outage = "isv.BUSINESS_LIMIT_CONTROL"
    open_escalation(app, staffed)
    assert send_alerts(app) == 0
    (row,) = notifications(app, recipient=ALICE)
    assert row.status == "pending" and "isv.BUSINESS_LIMIT_CONTROL" in (row.error or "")
    sms_platform.outage = None
    clock.advance(seconds=BACKOFF_S)
    assert send_alerts(app) == 1
    assert len(sms_platform.messages_to(ALICE)) == 1


def test_a_text_whose_worker_died_after_sending_is_found_by_its_out_id_not_sent_again(
    app, carrier, sms_platform, staffed, clock
) -> None:
    open_escalation(app, staffed)
    (row,) = notifications(app, recipient=ALICE)
    params = json.loads(row.params or "{}")
    message = TextMessage(row.body, "opened", params, f"pingan-notification-{row.id}")
    carrier.send_sms(ALICE, "", message)
    with session_scope(app) as session:  # …and its worker was killed before it wrote "sent"
        session.execute(
            update(Notification).values(status="sending", claimed_by="dead", claimed_at=clock.now())
        )
    clock.advance(seconds=STUCK_AFTER_S + 1)
    send_alerts(app)
    assert len(sms_platform.messages_to(ALICE)) == 1
    (row,) = notifications(app, recipient=ALICE)
    assert row.status == "sent" and row.provider_id == f"pingan-notification-{row.id}"


def test_health_reports_a_template_the_account_does_not_have(app, sms_platform) -> None:
    result = CliRunner().invoke(cli, ["health"], obj=Pingan(app=app))
    assert "account   ok" in result.output
    del sms_platform.account.templates[TEMPLATES["reminder"]]
    sms_platform.account.templates[TEMPLATES["family"]].status = 2
    result = CliRunner().invoke(cli, ["health"], obj=Pingan(app=app))
    assert result.exit_code == 1
    assert f"SMS template {TEMPLATES['reminder']} (reminder): isv.SMS_TEMPLATE_ILLEGAL" in (
        result.output
    )
    assert f"SMS template {TEMPLATES['family']} (family) is rejected" in result.output
    assert "status    error" in result.output


# Delivery reports (SmsReport) ---------------------------------------------------------------

REPORTS = f"/aliyun/{CALLBACK_SECRET}/sms-report"
RECEIVED = {"code": 0, "msg": "接收成功"}


def delivery(app) -> tuple[str | None, str | None, str | None]:
    (row,) = notifications(app, recipient=ALICE)
    return row.status, row.delivery, row.delivery_code


def undelivered_entries(app, escalation_id: int) -> list[str]:
    with session_scope(app) as session:
        trail = history(session, escalation_id)
        return [e.detail or "" for e in trail if e.action == "sms_undelivered"]


def report(app, **fields: object) -> dict[str, object]:
    """The report the platform pushes for the one text to 赵红梅, with ``fields`` changed."""
    (row,) = notifications(app, recipient=ALICE)
    return {
        "phone_number": "13903710011",
        "send_time": "2026-11-28 09:00:01",
        "report_time": "2026-11-28 09:00:04",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": row.provider_id,
        "out_id": f"pingan-notification-{row.id}",
        **fields,
    }


def test_a_text_the_duty_phone_got_is_marked_delivered(app, server, sms_platform, staffed) -> None:
    open_escalation(app, staffed)
    assert send_alerts(app) == 1
    assert sms_platform.wait_idle()
    (pushed,) = sms_platform.reports
    assert pushed.acknowledged and json.loads(pushed.answer) == RECEIVED
    assert delivery(app) == ("sent", "delivered", "DELIVERED")
    (row,) = notifications(app, recipient=ALICE)
    assert row.delivered_at is not None
    listed = CliRunner().invoke(cli, ["notifications"], obj=Pingan(app=app)).output
    assert re.search(r"139 0371 0011\s+opened\s+sent\s+1\s+delivered", listed)
    as_json = CliRunner().invoke(cli, ["notifications", "--json"], obj=Pingan(app=app))
    shown = json.loads(as_json.output)
    assert (shown[0]["delivery"], shown[0]["delivery_code"]) == ("delivered", "DELIVERED")


def test_an_alert_the_duty_phone_never_got_shows_on_the_escalation(
    app, server, sms_platform, caplog
) -> None:
    person(app, "赵红梅", ALICE, add_community(app, "中原社区"), "staff")
    escalation_id = open_escalation(app, add_resident(app, "张桂兰", GRANDMA, address=ADDRESS))
    sms_platform.unreachable.add(ALICE)  # 赵红梅's phone is switched off
    with caplog.at_level(logging.INFO, logger="ivr"):
        assert send_alerts(app) == 1  # SendSms accepted it: only the report says otherwise
        assert sms_platform.wait_idle()
    assert delivery(app) == ("sent", "failed", "MOBILE_NOT_ON_SERVICE")
    (entry,) = undelivered_entries(app, escalation_id)
    assert entry.startswith("opened: 赵红梅 +86139****0011: MOBILE_NOT_ON_SERVICE")
    page = text(signed_in(app, "13903710011").get(f"/escalations/{escalation_id}"))
    assert "短信未送达 预警短信：赵红梅 +86139****0011: MOBILE_NOT_ON_SERVICE" in page
    logged = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert logged and "13903710011" not in " ".join(logged) and "139****0011" in logged[0]


def test_a_forged_report_is_refused_and_changes_nothing(app, sms_platform, staffed, caplog) -> None:
    escalation_id = open_escalation(app, staffed)
    assert send_alerts(app) == 1  # no report URL in the console: nothing is pushed
    forged = report(app, success=False, err_code="MOBILE_NOT_ON_SERVICE")
    client = app.test_client()
    for path in ("not-the-secret-0123456789/sms-report", f"{CALLBACK_SECRET}x/sms-report"):
        assert client.post(f"/aliyun/{path}", json=[forged]).status_code == 403
    assert client.post("/aliyun/sms-report", json=[forged]).status_code in (404, 405)
    assert delivery(app) == ("sent", None, None)
    assert undelivered_entries(app, escalation_id) == []
    refusals = [r for r in caplog.records if "without the callback secret; refused" in r.message]
    assert len(refusals) == 2


def test_a_report_pushed_again_or_late_changes_nothing(app, server, sms_platform, staffed) -> None:
    escalation_id = open_escalation(app, staffed)
    sms_platform.unreachable.add(ALICE)
    assert send_alerts(app) == 1
    assert sms_platform.wait_idle()
    (first,) = sms_platform.reports
    client = app.test_client()
    # Our answer was lost: the platform pushes the same array again; then a contradicting one.
    assert client.post(REPORTS, json=first.reports).get_json() == RECEIVED
    assert client.post(REPORTS, json=[report(app)]).get_json() == RECEIVED
    assert delivery(app) == ("sent", "failed", "MOBILE_NOT_ON_SERVICE")
    assert len(undelivered_entries(app, escalation_id)) == 1


def test_a_report_that_beats_the_workers_save_finds_its_text_by_out_id(
    app, sms_platform, staffed, clock
) -> None:
    open_escalation(app, staffed)
    with session_scope(app) as session:  # SendSms answered; the worker has not saved it yet
        session.execute(
            update(Notification).values(status="sending", claimed_by="w", claimed_at=clock.now())
        )
    early = report(app, biz_id="900000000000001^0")
    assert app.test_client().post(REPORTS, json=[early]).get_json() == RECEIVED
    assert delivery(app) == ("sending", "delivered", "DELIVERED")


def test_a_report_for_a_text_pingan_never_sent_is_logged_and_acknowledged(
    app, staffed, caplog
) -> None:
    unknown = {"phone_number": "13903710011", "biz_id": "123456^0", "out_id": "someone-else"}
    answered = app.test_client().post(REPORTS, json=[{**unknown, "success": True}])
    assert answered.status_code == 200 and answered.get_json() == RECEIVED
    (logged,) = [r.getMessage() for r in caplog.records if "unknown text" in r.getMessage()]
    assert "123456^0" in logged and "13903710011" not in logged


@pytest.mark.parametrize(
    "body",
    [
        "[{",
        '{"biz_id": "1^0"}',
        '[1, "x", null, [], {}]',
        json.dumps([{"biz_id": {"nested": 1}, "out_id": ["pingan-notification-1"]}]),
        json.dumps([{"biz_id": "\x00" * 5000, "success": "yes", "report_time": "昨天"}]),
        json.dumps([{"out_id": "pingan-notification-99999999999999999999999"}] * 2000),
    ],
)
def test_a_malformed_report_is_acknowledged_logged_and_changes_nothing(
    app, staffed, caplog, body
) -> None:
    escalation_id = open_escalation(app, staffed)
    assert send_alerts(app) == 1
    answered = app.test_client().post(REPORTS, data=body, content_type="application/json")
    assert answered.status_code == 200 and answered.get_json() == RECEIVED
    assert delivery(app) == ("sent", None, None)
    assert undelivered_entries(app, escalation_id) == []
    assert any("aliyun sms report" in r.getMessage() for r in caplog.records)


def test_a_report_that_cannot_be_stored_is_answered_503_to_be_pushed_again(
    app, staffed, monkeypatch
) -> None:
    open_escalation(app, staffed)
    assert send_alerts(app) == 1

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(callbacks.text_delivery, "record", broken)
    assert app.test_client().post(REPORTS, json=[report(app)]).status_code == 503
    assert delivery(app) == ("sent", None, None)


# The simulator is as strict as the service -------------------------------------------------


def sms(platform: AliyunSmsSimulator, secret: str = KEY_SECRET) -> AliyunSms:
    return AliyunSms(KEY_ID, secret, platform.url, SIGN_NAME, TEMPLATES)


RECOVERED = {
    "community": "中原社区",
    "resident": "张桂兰",
    "reason": "联系不上",
    "time": "16:05",
    "temperature": "36.6℃",
}


def test_an_unsigned_or_forged_request_is_refused_and_sends_nothing(sms_platform) -> None:
    query = {"Action": "SendSms", "PhoneNumbers": "13903710011", "SignName": SIGN_NAME}
    unsigned = requests.post(sms_platform.url, params=query, timeout=10)
    assert unsigned.status_code == 400 and unsigned.json()["Code"] == "MissingAuthorization"
    with pytest.raises(CarrierError) as forged:
        sms(sms_platform, "a-guessed-secret").send(ALICE, TextMessage("", "recovered", RECOVERED))
    assert forged.value.kind == ErrorKind.AUTH and "SignatureDoesNotMatch" in str(forged.value)
    assert sms_platform.messages == []


@pytest.mark.parametrize(
    "number", ["+85291234567", "+8613903", "+86037165000000", "+861390371001a"]
)
def test_a_number_that_is_not_a_mainland_mobile_is_a_bad_number(sms_platform, number) -> None:
    with pytest.raises(CarrierError) as refused:
        sms(sms_platform).send(number, TextMessage("", "recovered", RECOVERED))
    assert refused.value.kind == ErrorKind.BAD_NUMBER
    assert "isv.MOBILE_NUMBER_ILLEGAL" in str(refused.value)


def raw_send(platform: AliyunSmsSimulator, template_param: str) -> str:
    """SendSms as the SDK sends it, with values Pingan itself would never pass."""
    client = sms(platform)._client
    request = models.SendSmsRequest(
        phone_numbers="13903710011",
        sign_name=SIGN_NAME,
        template_code=TEMPLATES["recovered"],
        template_param=template_param,
    )
    body = client.send_sms_with_options(request, RuntimeOptions(autoretry=False)).body
    return str(body.code)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"resident": "张" * (MAX_VARIABLE + 1)}, "isv.PARAM_LENGTH_LIMIT"),
        ({"resident": "见 https://evil.example"}, "isv.PARAM_NOT_SUPPORT_URL"),
        ({"resident": " "}, "isv.TEMPLATE_PARAMS_ILLEGAL"),
        ({"resident": None}, "isv.TEMPLATE_MISSING_PARAMETERS"),
        ({"code": "1234"}, "isv.SMS_TEMPLATE_ILLEGAL"),
    ],
)
def test_template_params_that_do_not_fit_the_template_are_refused(
    sms_platform, change, code
) -> None:
    params = {k: v for k, v in {**RECOVERED, **change}.items() if v is not None}
    assert raw_send(sms_platform, json.dumps(params, ensure_ascii=False)) == code
    assert raw_send(sms_platform, "not json") == "isv.INVALID_JSON_PARAM"
    assert sms_platform.messages == []


def test_a_phone_variable_takes_only_a_phone_number(sms_platform) -> None:
    family = {"community": "中原社区", "resident": "张桂兰", "hotline": "社区居委会"}
    with pytest.raises(CarrierError) as refused:
        sms(sms_platform).send(ALICE, TextMessage("", "family", {**family, "phone": "张桂兰家"}))
    assert refused.value.kind == ErrorKind.REJECTED
    assert "isv.TEMPLATE_PARAMS_ILLEGAL" in str(refused.value)
    sms(sms_platform).send(ALICE, TextMessage("", "family", {**family, "phone": "0371-65000000"}))
    (text,) = sms_platform.messages_to(ALICE)
    assert "（0371-65000000）未能接通" in text.body


def test_an_unreachable_service_is_tried_again_and_known_not_to_have_sent() -> None:
    unreachable = AliyunSms(KEY_ID, KEY_SECRET, "http://127.0.0.1:9", SIGN_NAME, TEMPLATES, 2)
    with pytest.raises(CarrierError) as refused:
        unreachable.send(ALICE, TextMessage("", "recovered", RECOVERED))
    assert refused.value.kind == ErrorKind.TRANSIENT and not refused.value.unsure


def test_a_resident_released_early_is_texted_with_the_release_template(
    app, sms_platform, clock
) -> None:
    add_resident(app, "张桂兰", GRANDMA, isolation_start=clock.now().date())
    runner = CliRunner()
    result = runner.invoke(cli, ["residents", "release", GRANDMA], obj=Pingan(app))
    assert result.exit_code == 0, result.output
    send_alerts(app)
    (text,) = sms_platform.messages_to(GRANDMA)
    assert (text.template, text.params) == (TEMPLATES["release"], {"community": "中原社区"})
    assert text.body == "【中原社区】中原社区提醒您：您的居家隔离已由社区提前解除，感谢您的配合。"


def test_a_need_nobody_took_reminds_the_staff_with_the_order_template(
    app, sms_platform, staffed, clock
) -> None:
    with session_scope(app) as session:
        resident = session.get(Resident, staffed)
        orders.open_orders(session, resident, ["garbage"], clock.now(), SHANGHAI)
    clock.advance(hours=4)
    Jobs(app, worker="w").check_sla()
    send_alerts(app)
    (text,) = sms_platform.messages_to(ALICE)
    assert text.template == TEMPLATES["order"]
    assert text.params == {
        "community": "中原社区",
        "resident": "张桂兰",
        "need": "垃圾清运",
        "hours": "4",
        "address": ADDRESS,
    }
