"""The URLs entered in the consoles: 智能语音交互 callbacks and call receipts (VMS), and the
texts' delivery reports (短信服务 SmsReport, HTTP 批量推送).

Neither service documents a signature on its pushes, so each URL carries
``PINGAN_ALIYUN_CALLBACK_SECRET``, compared in constant time; a request without it gets 403 and
changes nothing. Each callback
becomes the same ``ivr.domain.calls`` event a Twilio webhook becomes (answered, keys, silence, final
status), so answers are stored exactly as on Twilio; the reply is the platform's JSON action.
The same URL receives calls to the Pingan number (``content_type`` ``callin``, 智能语音交互呼入):
they are call-backs, run by ``ivr.domain.inbound`` as Twilio's "A call comes in" webhook runs them.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from callflows import Keys, Silence
from ivr import clock_of, flow_of, settings_of
from ivr.carriers.aliyun import sms_reports
from ivr.carriers.aliyun.actions import (
    ANSWER_TURN,
    CALL_IN,
    OUT_ID_MAX,
    Cursor,
    answering,
    hang_up,
    keep_keying,
    keep_listening,
    render,
)
from ivr.carriers.aliyun.status import final_status
from ivr.carriers.telephony import FINAL_STATUSES
from ivr.db import session_scope
from ivr.db_errors import database_unavailable
from ivr.domain import alert_calls, calls, inbound, text_delivery
from ivr.domain.calls import CallEnv, Turn
from ivr.phones import PhoneError, mask_phone, mask_phones_in, normalize_phone
from ivr.web.voice.alert import alert_flow, alert_render, turn_of
from ivr.web.voice.context import base_env, call_env, flows_of, render_for
from ivr.web.voice.keys import KEYPAD, MAX_KEYS
from storage import AlertCall, CallAttempt

log = logging.getLogger(__name__)

bp = Blueprint("aliyun", __name__, url_prefix="/aliyun")


def _authentic(secret: str) -> bool:
    expected = settings_of(current_app).aliyun_callback_secret or ""
    return bool(expected) and hmac.compare_digest(secret.encode(), expected.encode())


def _refuse_forgeries(secret: str) -> None:
    if not _authentic(secret):
        log.warning(
            "aliyun %s from %s without the callback secret; refused",
            request.endpoint,
            request.remote_addr,
        )
        abort(403)


@bp.post("/<secret>/callback")
def callback(secret: str) -> Response:
    _refuse_forgeries(secret)
    params = request.values
    call_id = params.get("call_id", "")[:64]
    kind = params.get("content_type", "")
    content = _content(params.get("content", ""))
    if kind == CALL_IN:
        return _json(_call_in(call_id, content))
    cursor = Cursor.parse(str(content.get("dynamic_id") or params.get("dynamic_id") or ""))
    if not call_id or cursor is None:
        log.warning("aliyun callback %r without a call of ours; hanging up", kind[:20])
        return _json(hang_up(call_id))
    with session_scope() as session:
        attempt = calls.load_attempt(session, cursor.code)
        form = {"CallSid": call_id}
        ring = alert_calls.load(session, cursor.code) if attempt is None else None
        if ring is not None and alert_calls.same_call(ring, call_id):
            alert_calls.attach_call_sid(ring, call_id, clock_of(current_app).now())
            return _json(_alert_turn(session, ring, cursor, kind, content, call_id))
        if attempt is None or not calls.same_call(attempt, form):
            log.warning("aliyun callback for unknown call %s; hanging up", call_id)
            return _json(hang_up(call_id))
        calls.attach_call_sid(attempt, form, clock_of(current_app).now())
        return _json(_turn(session, attempt, cursor, kind, content, call_id))


def _call_in(call_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """A call to our number: who is it, and what they hear first (首次呼入回调)."""
    callee = _e164(str(content.get("callee") or ""))
    if not call_id or callee != settings_of(current_app).caller_id:
        log.warning("aliyun callin to %s, not Pingan's number; hanging up", mask_phone(callee))
        return hang_up(call_id)
    form = {"CallSid": call_id, "From": _e164(str(content.get("caller") or ""))}
    with session_scope() as session:
        attempt, turn = inbound.on_incoming(session, form, base_env(), flows_of(current_app))
        how = render_for(attempt, turn.turn, turn.leg)
        reply = render(turn.transition.actions, how, Cursor(attempt.code, str(turn.turn)), call_id)
    return answering(reply, settings_of(current_app).call_time_limit_s)


def _e164(raw: str) -> str:
    """A number VMS shows (nationally: it is a mainland number, whatever PINGAN_PHONE_REGION
    says) in E.164; a withheld or unusable one as it came (``inbound`` knows those)."""
    try:
        return normalize_phone(raw, "CN")
    except PhoneError:
        return raw[:32]


def _turn(
    session: Session,
    attempt: CallAttempt,
    cursor: Cursor,
    kind: str,
    content: Mapping[str, Any],
    call_id: str,
) -> dict[str, Any]:
    env = call_env(attempt)
    if cursor.turn == ANSWER_TURN:
        turn = calls.on_answer(session, attempt, {"CallSid": call_id}, env)
    elif kind == "dtmf":
        pressed, entry = _press(cursor, str(content.get("dtmf") or ""))
        if entry is None:
            return keep_keying(pressed, call_id)
        turn = _input(session, attempt, entry, cursor.turn, env)
    elif kind == "mute":  # silence for mute_time: the entry so far, as Twilio's gather timeout
        event = Keys(cursor.keyed) if cursor.keyed else Silence()
        turn = _input(session, attempt, event, cursor.turn, env)
    else:  # speech (normal, timebreak) or a transfer's progress: keys only are answers
        log.info("attempt %s: aliyun %s callback; carrying on", attempt.id, kind[:20])
        return keep_listening(cursor, call_id)
    how = render_for(attempt, turn.turn, turn.leg)
    step = Cursor(attempt.code, str(turn.turn))
    return render(turn.transition.actions, how, step, call_id)


def _input(
    session: Session, attempt: CallAttempt, event: Keys | Silence, turn: str, env: CallEnv
) -> Turn:
    if inbound.identifying(attempt):  # a caller keying in their registered number
        flows = flows_of(current_app)
        return inbound.on_identify_input(session, attempt, event, turn, base_env(), flows)
    return calls.on_input(session, attempt, event, turn, env)


def _alert_turn(
    session: Session,
    ring: AlertCall,
    cursor: Cursor,
    kind: str,
    content: Mapping[str, Any],
    call_id: str,
) -> dict[str, Any]:
    """A staff alert call's callback: the same events as its Twilio webhooks."""
    flow, now = alert_flow(current_app), clock_of(current_app).now()
    if cursor.turn == ANSWER_TURN:  # VMS detects no answering machine: a voicemail is silent
        transition = alert_calls.on_answer(session, ring, None, flow, now)
    elif kind == "dtmf":
        pressed, entry = _press(cursor, str(content.get("dtmf") or ""))
        if entry is None:
            return keep_keying(pressed, call_id)
        transition = alert_calls.on_input(session, ring, entry, cursor.turn, flow, now)
    elif kind == "mute":
        event = Keys(cursor.keyed) if cursor.keyed else Silence()
        transition = alert_calls.on_input(session, ring, event, cursor.turn, flow, now)
    else:
        return keep_listening(cursor, call_id)
    turn = turn_of(transition)
    return render(
        transition.actions, alert_render(ring, turn), Cursor(ring.code, str(turn)), call_id
    )


def _press(cursor: Cursor, raw: str) -> tuple[Cursor, Keys | None]:
    """Keys of one ``dtmf`` callback (one key, normally), applied one by one."""
    keys = "".join(ch if ch in KEYPAD else "?" for ch in raw[:MAX_KEYS])
    for index, key in enumerate(keys):
        cursor, entry = cursor.press(key)
        if entry is not None:
            if keys[index + 1 :]:
                log.info("keys %r after a complete entry dropped", keys[index + 1 :])
            return cursor, entry
    return cursor, None


@bp.post("/<secret>/receipt")
def receipt(secret: str) -> Response:
    """呼叫结果回执, pushed as a JSON array; answered ``{"code": 0}`` once stored."""
    _refuse_forgeries(secret)
    records = request.get_json(silent=True)
    if not isinstance(records, list):
        log.warning("aliyun receipt that is not a JSON array; ignored")
        return _json({"code": 0, "msg": "接收成功"})
    for record in records[:1000]:
        if isinstance(record, dict):
            with session_scope() as session:
                _settle(session, record)
    return _json({"code": 0, "msg": "接收成功"})


@bp.post("/<secret>/sms-report")
def sms_report(secret: str) -> Response:
    """短信发送状态报告, pushed as a JSON array; answered ``{"code": 0}`` once stored. Whatever
    cannot be read is answered the same (pushing it again would not make it readable)."""
    _refuse_forgeries(secret)
    reports = request.get_json(silent=True)
    if not isinstance(reports, list):
        log.warning("aliyun sms report that is not a JSON array; ignored")
        return _json(sms_reports.RECEIVED)
    for raw in reports[: sms_reports.MAX_REPORTS]:
        _deliver(raw)
    return _json(sms_reports.RECEIVED)


def _deliver(raw: object) -> None:
    now = clock_of(current_app).now()
    report = sms_reports.parse(raw, now)
    to = sms_reports.masked_phone(raw)
    if report is None:
        log.warning("aliyun sms report to %s that names no text (no biz_id, out_id); ignored", to)
        return
    with session_scope() as session:
        outcome = text_delivery.record(session, report, settings_of(current_app), now)
    text = report.provider_id or report.reference
    what = "delivered" if report.delivered else f"not delivered ({report.code})"
    if outcome == text_delivery.UNKNOWN:
        log.warning("aliyun sms report for unknown text %s to %s (%s); ignored", text, to, what)
    elif outcome == text_delivery.REPEATED:
        log.info("aliyun sms report for text %s to %s repeated; ignored", text, to)
    elif report.delivered:
        log.info("text %s to %s %s", text, to, what)
    else:
        log.warning("text %s to %s %s: %s", text, to, what, mask_phones_in(report.message))


def _settle(session: Session, record: Mapping[str, Any]) -> None:
    call_id = str(record.get("call_id") or "")[:64]
    attempt = _receipt_attempt(session, call_id, str(record.get("out_id") or ""))
    if attempt is None and _settle_ring(session, record, call_id):
        return
    if attempt is None:
        log.warning("aliyun receipt for unknown call %s; ignored", call_id)
        return
    if attempt.status in FINAL_STATUSES:
        log.info("attempt %s: repeated aliyun receipt; ignored", attempt.id)
        return
    code = str(record.get("status_code") or "")
    status = final_status(code)
    calls.attach_call_sid(attempt, {"CallSid": call_id}, clock_of(current_app).now())
    duration = _int(record.get("duration"))
    log.info("attempt %s: aliyun receipt %s (%s)", attempt.id, code[:10], status)
    calls.finish_call(session, attempt, status, duration, None, call_env(attempt))


def _settle_ring(session: Session, record: Mapping[str, Any], call_id: str) -> bool:
    """A staff alert call's receipt (found as a check-in call's is); False if it is not one."""
    ring = alert_calls.by_call_sid(session, call_id)
    out_id = str(record.get("out_id") or "")
    if ring is None and len(out_id) == OUT_ID_MAX:
        pattern = out_id.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        codes = session.scalars(
            select(AlertCall.code).where(
                AlertCall.code.like(pattern, escape="\\"), AlertCall.call_sid.is_(None)
            )
        ).all()
        ring = alert_calls.load(session, codes[0]) if len(codes) == 1 else None
    if ring is None:
        return False
    status = final_status(str(record.get("status_code") or ""))
    now = clock_of(current_app).now()
    alert_calls.attach_call_sid(ring, call_id, now)
    alert_calls.on_final(
        session, ring, status, None, settings_of(current_app), alert_flow(current_app), now
    )
    return True


def _receipt_attempt(session: Session, call_id: str, out_id: str) -> CallAttempt | None:
    """By the call's id; by OutId (our code's start) when the receipt beat the dialer's save.

    The OutId match does not ask for an unsaved CallId: the dialer may save it while this
    request waits for the row's lock, and the receipt is still this call's.
    """
    query = select(CallAttempt).with_for_update()
    found = session.scalars(query.where(CallAttempt.call_sid == call_id)).first()
    if found is None and len(out_id) == OUT_ID_MAX:
        pattern = out_id.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        candidates = session.scalars(query.where(CallAttempt.code.like(pattern, escape="\\"))).all()
        mine = [c for c in candidates if c.call_sid in (None, call_id)]
        found = mine[0] if len(mine) == 1 else None
    return calls.load_attempt(session, found.code) if found else None


def _content(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(raw: object) -> int | None:
    text = str(raw) if raw is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 9 else None


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@bp.errorhandler(Exception)
def _failed(exc: Exception) -> Response | HTTPException:
    """Never a 500: the caller hears an apology; a receipt or a delivery report gets 503, so
    the platform pushes it again."""
    if isinstance(exc, HTTPException):
        return exc
    if database_unavailable(exc):
        log.warning("database unavailable during %s", request.endpoint)
    else:
        log.exception("aliyun %s failed", request.endpoint)
    if request.endpoint in ("aliyun.receipt", "aliyun.sms_report"):
        return Response(status=503)
    return _json(hang_up(request.values.get("call_id", "")[:64], _apology()))


def _apology() -> str:
    """In the deployment's language: without the database the caller's own is unknown."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return flow_of(app).catalogue.text("apology", settings_of(app).language)
