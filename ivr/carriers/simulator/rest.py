"""A Twilio-compatible REST front end for a ``SimulatedCarrier``.

Point the official SDK at it (``client.api.base_url = base_url``; never set region or edge) and
the app's real ``TwilioCarrier`` runs end to end against the simulator: create, fetch, update and
list calls, send SMS. Errors use Twilio's legacy JSON shape ``{code, message, more_info,
status}`` so the SDK raises ``TwilioRestException`` with the same status and code as Twilio.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from email.utils import format_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ivr.carriers.simulator.carrier import SimulatedCarrier
from ivr.carriers.simulator.engine import API_VERSION
from ivr.carriers.simulator.records import (
    MACHINE_DETECTION_MODES,
    STATUS_EVENTS,
    CallRecord,
    CallRequest,
)
from ivr.carriers.telephony import CarrierError, ErrorKind, TextMessage

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
MAX_RING_TIMEOUT_S = 600


def create_rest_app(carrier: SimulatedCarrier) -> Flask:
    """The WSGI app serving Twilio's 2010-04-01 Calls and Messages API for ``carrier``."""
    app = Flask(__name__)
    api = _Api(carrier)
    prefix = "/2010-04-01/Accounts/<account_sid>"
    app.add_url_rule(f"{prefix}/Calls.json", "calls", api.calls, methods=["GET", "POST"])
    app.add_url_rule(f"{prefix}/Calls/<sid>.json", "call", api.call, methods=["GET", "POST"])
    app.add_url_rule(f"{prefix}/Messages.json", "messages", api.messages, methods=["GET", "POST"])
    # Not Twilio: how fast calls were created, for the pacing benchmark (same credentials).
    app.add_url_rule(f"{prefix}/SimulatorStats.json", "stats", api.stats, methods=["GET"])
    app.before_request(api.authenticate)
    app.register_error_handler(CarrierError, _carrier_error)
    app.register_error_handler(HTTPException, _http_error)
    return app


class WsgiServer:
    """A WSGI app served from a daemon thread; ``stop()`` (or ``with``) shuts it down."""

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_LoggingHandler
        )
        shown_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown_host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"wsgi-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def __enter__(self) -> WsgiServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_rest(
    carrier: SimulatedCarrier, host: str = "127.0.0.1", port: int = 0
) -> tuple[WsgiServer, str]:
    """Serve ``carrier``'s REST API; returns the server (``.stop()`` it) and its base URL."""
    server = WsgiServer(create_rest_app(carrier), host, port)
    return server, server.base_url


class _LoggingHandler(WSGIRequestHandler):
    """Access lines go to this module's logger at DEBUG instead of werkzeug's stderr output."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("%s %s", type, message % args if args else message)


class _Api:
    """The view functions, sharing one carrier."""

    def __init__(self, carrier: SimulatedCarrier) -> None:
        self._carrier = carrier

    def stats(self, account_sid: str) -> Response:
        carrier = self._carrier
        timings = [t for record in carrier.records.values() for t in record.timings]
        errors = [e for record in carrier.records.values() for e in record.errors]
        return jsonify(
            create_times=carrier.create_times,
            idle=carrier.wait_idle(0),
            webhooks=[{"kind": k, "status": s, "seconds": t} for k, s, t in timings],
            call_errors=[{"code": e.code, "message": e.message} for e in errors],
        )

    def authenticate(self) -> Response | None:
        auth = request.authorization
        carrier = self._carrier
        if (
            auth is None
            or auth.type != "basic"
            or not _same(auth.username, carrier.account_sid)
            or not _same(auth.password, carrier.auth_token)
        ):
            response = _error(20003, "Authenticate", 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        account = (request.view_args or {}).get("account_sid")
        if account is not None and account != carrier.account_sid:
            return _error(20404, f"The requested resource {request.path} was not found", 404)
        return None

    def calls(self, account_sid: str) -> tuple[Response, int]:
        if request.method == "GET":
            return jsonify(self._call_page(account_sid)), 200
        sid = self._carrier.create_call(_call_request(request.form))
        record = self._carrier.record(sid)
        return jsonify(_call_json(account_sid, record, as_created=True)), 201

    def call(self, account_sid: str, sid: str) -> tuple[Response, int]:
        if request.method == "POST":
            if {"Url", "Twiml"} & set(request.form):
                raise CarrierError(
                    "The simulator cannot redirect a live call (Url or Twiml)",
                    ErrorKind.REJECTED,
                    20001,
                    400,
                )
            if "Status" in request.form:
                self._carrier.update_call(sid, request.form["Status"])
        return jsonify(_call_json(account_sid, self._carrier.record(sid))), 200

    def messages(self, account_sid: str) -> tuple[Response, int]:
        if request.method == "GET":
            return jsonify(self._message_page(account_sid)), 200
        form = request.form
        sender = form.get("From") or form.get("MessagingServiceSid", "")
        sid = self._carrier.send_sms(form.get("To", ""), sender, TextMessage(form.get("Body", "")))
        return jsonify(_message_json(account_sid, sid, form, sender)), 201

    def _message_page(self, account_sid: str) -> dict[str, Any]:
        """Sent texts, newest first, filtered by ``To`` and ``From`` (``DateSent`` is accepted
        and ignored: the simulator keeps one run's texts)."""
        args = request.args
        wanted = {"to": args.get("To"), "from": args.get("From")}
        size = min(_integer(args, "PageSize", 50), MAX_PAGE_SIZE)
        found = [
            m
            for m in reversed(self._carrier.messages)
            if all(
                v is None or v == (m.to if k == "to" else m.extra.get("from"))
                for k, v in wanted.items()
            )
        ][:size]
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        return {
            "messages": [
                _message_json(
                    account_sid,
                    m.sid,
                    MultiDict({"To": m.to, "Body": m.body}),
                    m.extra.get("from", ""),
                )
                for m in found
            ],
            "start": 0,
            "end": max(len(found) - 1, 0),
            "page": 0,
            "page_size": size,
            "uri": uri,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
        }

    def _call_page(self, account_sid: str) -> dict[str, Any]:
        args = request.args
        filters = {name: args[name] for name in ("To", "From", "Status") if args.get(name)}
        size = min(_integer(args, "PageSize", 50), MAX_PAGE_SIZE)
        page = _integer(args, "Page", 0, minimum=0)
        records = [
            r
            for r in reversed(self._carrier.records.values())  # newest first
            if _matches(r, filters)
        ]
        chosen = records[page * size : (page + 1) * size]
        uri = f"/2010-04-01/Accounts/{account_sid}/Calls.json"

        def page_uri(number: int) -> str:
            return f"{uri}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        more = len(records) > (page + 1) * size
        return {
            "calls": [_call_json(account_sid, r) for r in chosen],
            "start": page * size,
            "end": page * size + max(len(chosen) - 1, 0),
            "page": page,
            "page_size": size,
            "uri": page_uri(page),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if more else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        }


def _call_request(form: MultiDict[str, str]) -> CallRequest:
    """Read a create-call form the way Twilio does (defaults from its API reference)."""
    if not form.get("Url") and (form.get("Twiml") or form.get("ApplicationSid")):
        raise CarrierError(
            "The simulator needs a Url (Twiml and ApplicationSid are not supported)",
            ErrorKind.REJECTED,
            21205,
            400,
        )
    events = tuple(e for value in form.getlist("StatusCallbackEvent") for e in value.split())
    if not set(events) <= STATUS_EVENTS:
        raise _invalid("StatusCallbackEvent", " ".join(events))
    detection = form.get("MachineDetection") or None
    if detection is not None and detection not in MACHINE_DETECTION_MODES:
        raise _invalid("MachineDetection", detection)
    return CallRequest(
        to=form.get("To", ""),
        from_=form.get("From", ""),
        url=form.get("Url", ""),
        method=_method(form, "Method"),
        status_callback=form.get("StatusCallback") or None,
        status_callback_method=_method(form, "StatusCallbackMethod"),
        status_callback_events=events or ("completed",),
        timeout_s=min(_integer(form, "Timeout", 60), MAX_RING_TIMEOUT_S),
        time_limit_s=_integer(form, "TimeLimit", 14400),
        machine_detection=detection,
        fallback_url=form.get("FallbackUrl") or None,
        fallback_method=_method(form, "FallbackMethod"),
    )


def _call_json(account_sid: str, record: CallRecord, *, as_created: bool = False) -> dict[str, Any]:
    """The Call resource; ``as_created`` shows it as the create request answers: queued."""
    uri = f"/2010-04-01/Accounts/{account_sid}/Calls/{record.sid}"
    status = "queued" if as_created else record.resource_status
    started = None if as_created else record.start_time
    ended = None if as_created or not record.final else record.end_time
    created = format_datetime(record.created_at)
    return {
        "sid": record.sid,
        "account_sid": account_sid,
        "parent_call_sid": None,
        "to": record.to,
        "to_formatted": record.to,
        "from": record.from_,
        "from_formatted": record.from_,
        "phone_number_sid": None,
        "status": status,
        "start_time": format_datetime(started) if started else None,
        "end_time": format_datetime(ended) if ended else None,
        "duration": str(record.duration_s) if status == "completed" else None,
        "price": None,
        "price_unit": "USD",
        "direction": record.direction,
        "answered_by": None if as_created else record.answered_by,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "date_created": created,
        "date_updated": format_datetime(ended) if ended else created,
        "uri": f"{uri}.json",
        "subresource_uris": {
            name: f"{uri}/{title}.json"
            for name, title in (
                ("notifications", "Notifications"),
                ("recordings", "Recordings"),
                ("events", "Events"),
                ("payments", "Payments"),
                ("streams", "Streams"),
            )
        },
    }


def _message_json(
    account_sid: str, sid: str, form: MultiDict[str, str], sender: str
) -> dict[str, Any]:
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
    return {
        "sid": sid,
        "account_sid": account_sid,
        "to": form.get("To"),
        "from": sender,
        "body": form.get("Body"),
        "status": "queued",
        "direction": "outbound-api",
        "num_segments": "1",
        "num_media": "0",
        "api_version": API_VERSION,
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "date_created": None,
        "date_updated": None,
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "price": None,
        "price_unit": "USD",
        "uri": f"{uri}.json",
        "subresource_uris": {"media": f"{uri}/Media.json"},
    }


def _matches(record: CallRecord, filters: dict[str, str]) -> bool:
    values = {"To": record.to, "From": record.from_, "Status": record.resource_status}
    return all(values[name] == wanted for name, wanted in filters.items())


def _method(form: MultiDict[str, str], name: str) -> str:
    value = (form.get(name) or "POST").upper()
    if value not in ("GET", "POST"):
        raise _invalid(name, value)
    return value


def _integer(form: MultiDict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = form.get(name)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise _invalid(name, raw)
    return int(raw)


def _invalid(name: str, value: str) -> CarrierError:
    return CarrierError(f"Invalid {name}: {value!r}", ErrorKind.REJECTED, 20001, 400)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _error(code: int, message: str, status: int) -> Response:
    """Twilio's legacy error body; adding ``type``/``title`` would change the SDK's exception."""
    response = jsonify(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    )
    response.status_code = status
    return response


def _carrier_error(exc: CarrierError) -> Response:
    status = exc.status or (503 if exc.kind is ErrorKind.TRANSIENT else 400)
    return _error(exc.code or status, str(exc), status)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = 20404 if status == 404 else status
    return _error(code, exc.description or exc.name, status)
