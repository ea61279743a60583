"""Alibaba Cloud 短信服务 played locally, as strict as the service: the dysmsapi endpoint the
official SDK talks to (point ``PINGAN_ALIYUN_SMS_ENDPOINT`` at ``url``).

It checks the SDK's signature like the VMS simulator (``ivr.carriers.aliyun.gateway``) and refuses,
with
the documented error codes, what ``SendSms`` refuses: a signature or a template code that is
not approved on the account, ``TemplateParam`` that is not a JSON object of the template's
variables, an empty or too long value, a link in a value, a number that is not a mainland
mobile, too many numbers, and more than 50 texts of one template to one number in 24 hours.
Each text it accepts is kept (``messages``), written out as the phone would show it, and, once
``report_url`` is set (the console's HTTP 批量推送 address for SmsReport), its delivery report is
pushed there over HTTP as the platform pushes it: delivered, or ``MOBILE_NOT_ON_SERVICE`` for a
number in ``unreachable`` (a phone switched off or out of service). ``wait_idle`` waits for the
pushes; ``reports`` keeps each one with the answer it got.

Not Alibaba Cloud: ``GET /simulator/messages.json`` (HTTP basic auth with the AccessKey ID and
secret) lists the texts accepted and the reports pushed, for tests running Pingan in other
processes (``pingan simulator serve --carrier aliyun`` serves this simulator beside VMS's).

``PINGAN_TEMPLATES`` are the templates Pingan asks an operator to apply for (docs/carriers.md):
the simulator's account has them approved under the codes it is given.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, Response, jsonify

from ivr.carriers.aliyun import gateway
from ivr.carriers.aliyun.sms import LINKISH, MAX_VARIABLE, SERVICE_TZ
from ivr.carriers.simulator.rest import WsgiServer
from ivr.carriers.telephony import SentMessage

TEXT, PHONE, NUMBER = "text", "phone", "number"  # the variable properties Pingan's templates use
# Codes the demo and the stories "had approved": one per kind of text Pingan sends.
SAMPLE_CODES = {
    "opened": "SMS_480100001",
    "reminder": "SMS_480100002",
    "family": "SMS_480100003",
    "recovered": "SMS_480100004",
    "release": "SMS_480100005",
    "order": "SMS_480100006",
}
PINGAN_TEMPLATES: dict[str, tuple[str, dict[str, str]]] = {
    "opened": (
        "${severity}预警：${community}居民${resident}，${reason}，体温${temperature}。"
        "地址：${address}，电话：${phone}，时间：${time}。请在平安工作台确认。",
        {"phone": PHONE},
    ),
    "reminder": (
        "第${count}次提醒，已${minutes}分钟无人确认！${severity}预警：${community}居民${resident}，"
        "${reason}，体温${temperature}。地址：${address}，电话：${phone}，时间：${time}。"
        "请在平安工作台确认。",
        {"phone": PHONE, "count": NUMBER, "minutes": NUMBER},
    ),
    "family": (
        "您好，${community}今天多次致电${resident}（${phone}）未能接通，社区工作人员会尽快跟进。"
        "如您联系上本人，请致电${hotline}告知，谢谢。",
        {"phone": PHONE},
    ),
    "recovered": (
        "已恢复：${community}居民${resident}（${reason}）已于${time}报平安，体温${temperature}，"
        "预警已自动解除，无需回复。",
        {},
    ),
    "release": ("${community}提醒您：您的居家隔离已由社区提前解除，感谢您的配合。", {}),
    "order": (
        "${community}居民${resident}的${need}已${hours}小时无人接单，请尽快接单。地址：${address}。",
        {"hours": NUMBER},
    ),
}
VARIABLE = re.compile(r"\$\{(\w+)\}")
MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})")
FIXED_OR_MOBILE = re.compile(r"1[3-9]\d{9}|(?=[\d-]{5,15}$)\d[\d-]*\d")
MAX_NUMBERS = 1000
PER_DAY = 50  # texts of one signature and template to one number in 24 hours
DAY_S = 86400
NOT_ON_SERVICE = ("MOBILE_NOT_ON_SERVICE", "停机、空号、暂停服务、关机、不在服务区")
DELIVERED = ("DELIVERED", "用户接收成功")


@dataclass
class Template:
    content: str
    properties: dict[str, str]  # variable → property; unnamed ones are TEXT
    status: int = 1  # QuerySmsTemplate's TemplateStatus: 0 under review, 1 approved, 2 rejected

    def variables(self) -> list[str]:
        return VARIABLE.findall(self.content)


@dataclass
class Account:
    sign_names: dict[str, int]  # signature → SignStatus
    templates: dict[str, Template]
    sent: list[tuple[float, SentMessage, str]] = field(default_factory=list)  # (at, text, OutId)


@dataclass
class PushedReport:
    """One SmsReport push: the array sent and the HTTP status and body it was answered with."""

    reports: list[dict[str, Any]]
    status: int | None = None
    answer: str = ""

    @property
    def acknowledged(self) -> bool:
        """As the platform reads an answer: HTTP 200 and a number in ``code``."""
        try:
            code = json.loads(self.answer).get("code")
        except (ValueError, AttributeError):
            return False
        return self.status == 200 and isinstance(code, int) and not isinstance(code, bool)


class AliyunSmsSimulator:
    """The SMS service of one account: its signature and Pingan's templates under ``codes``."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        codes: Mapping[str, str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name, self.codes = sign_name, dict(codes)
        self.account = Account(
            {sign_name: 1},
            {code: Template(*PINGAN_TEMPLATES[kind]) for kind, code in codes.items()},
        )
        self.outage: str | None = None  # while set, every SendSms is refused with this code
        self.report_url = ""  # 通用设置 > HTTP 批量推送 > SmsReport, in the console
        self.unreachable: set[str] = set()  # numbers (E.164 or national) whose texts fail
        self.reports: list[PushedReport] = []
        self._running: set[threading.Thread] = set()
        self._http = requests.Session()
        self._http.headers["Connection"] = "close"  # as the VMS simulator: no stale connection
        self._lock = threading.Lock()
        self._server = WsgiServer(self._app(), host, port)
        self.url = self._server.base_url

    def app_settings(self) -> dict[str, str]:
        """The settings of an app whose staff texts go through this simulator."""
        return {
            "aliyun_sms_endpoint": self.url,
            "aliyun_sms_sign_name": self.sign_name,
            **{f"aliyun_sms_template_{kind}": code for kind, code in self.codes.items()},
        }

    @property
    def messages(self) -> list[SentMessage]:
        with self._lock:
            return [message for _, message, _ in self.account.sent]

    def messages_to(self, phone: str) -> list[SentMessage]:
        """Every text sent to ``phone`` (E.164 or national), oldest first."""
        national = phone[3:] if phone.startswith("+86") else phone
        return [m for m in self.messages if m.to == national]

    def wait_idle(self, timeout_s: float = 30) -> bool:
        """Whether every report push has been answered within ``timeout_s``."""
        return gateway.wait_for_threads(self._lock, self._running, timeout_s)

    def close(self) -> None:
        self.wait_idle(10)
        self._server.stop()
        self._http.close()

    # ---------------------------------------------------------------------------------------

    def _app(self) -> Flask:
        app = Flask(__name__)
        app.add_url_rule("/", "api", self._api, methods=["GET", "POST"])
        app.add_url_rule("/simulator/messages.json", "messages", self._listing, methods=["GET"])
        return app

    def _listing(self) -> Response:
        """The texts and pushed reports, for tests in other processes (not an Alibaba Cloud
        API)."""
        refused = gateway.refuse_listing(self.access_key_id, self.access_key_secret)
        if refused is not None:
            return refused
        with self._lock:
            texts = [
                {"sid": m.sid, "to": m.to, "body": m.body, "template": m.template, "out_id": o}
                for _, m, o in self.account.sent
            ]
            pushed = [
                {"reports": p.reports, "status": p.status, "acknowledged": p.acknowledged}
                for p in self.reports
            ]
            idle = not any(t.is_alive() for t in self._running)
        return jsonify(messages=texts, reports=pushed, idle=idle)

    def _api(self) -> Response:
        refused = gateway.refuse_unsigned(self.access_key_id, self.access_key_secret)
        if refused is not None:
            return refused
        handlers = {
            "SendSms": self._send,
            "QuerySendDetails": self._details,
            "QuerySmsSign": self._sign,
            "QuerySmsTemplate": self._template,
        }
        handler = handlers.get(gateway.action())
        if handler is None:
            name = gateway.action()
            return gateway.error(
                400, "InvalidAction.NotFound", f"Specified api {name} is not found."
            )
        return handler(gateway.params())

    def _send(self, params: dict[str, str]) -> Response:
        numbers = [n.strip() for n in params.get("PhoneNumbers", "").split(",") if n.strip()]
        if len(numbers) > MAX_NUMBERS:
            return gateway.body("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
        mobiles = [MOBILE.fullmatch(n) for n in numbers]
        if not numbers or not all(mobiles):
            return gateway.body("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        sign = params.get("SignName", "")
        if self.account.sign_names.get(sign) != 1:
            return gateway.body("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.account.templates.get(params.get("TemplateCode", ""))
        if template is None or template.status != 1:
            return gateway.body("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        values, refusal = _values(template, params.get("TemplateParam", "{}"))
        if refusal is not None:
            return gateway.body(*refusal)
        if self.outage:
            return gateway.body(self.outage, "simulated refusal")
        return self._accept([m.group(1) for m in mobiles if m], sign, params, template, values)

    def _accept(
        self,
        numbers: list[str],
        sign: str,
        params: dict[str, str],
        template: Template,
        values: dict[str, str],
    ) -> Response:
        code, now = params["TemplateCode"], time.monotonic()
        content = f"【{sign}】" + VARIABLE.sub(lambda m: values[m.group(1)], template.content)
        biz_id = f"{uuid.uuid4().int % 10**15}^{uuid.uuid4().int % 10**10}"
        with self._lock:
            recent = [
                m.to
                for at, m, _ in self.account.sent
                if now - at < DAY_S and m.template == code and m.extra["sign"] == sign
            ]
            if any(recent.count(n) >= PER_DAY for n in numbers):
                return gateway.body("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:50")
            for number in numbers:
                sent = SentMessage(biz_id, number, content, {"sign": sign}, code, values)
                self.account.sent.append((now, sent, params.get("OutId", "")))
        self._report(numbers, biz_id, params.get("OutId", ""))
        return gateway.body("OK", "OK", BizId=biz_id)

    def _outcome(self, number: str) -> tuple[str, str]:
        """(err_code, err_msg) of a text to ``number`` (national)."""
        unreachable = {n[3:] if n.startswith("+86") else n for n in self.unreachable}
        return NOT_ON_SERVICE if number in unreachable else DELIVERED

    def _report(self, numbers: list[str], biz_id: str, out_id: str) -> None:
        """Push the texts' delivery reports on a thread of their own, apart from the request,
        as the platform does (so a report may arrive before or after SendSms's answer)."""
        if not self.report_url:
            return
        at = dt.datetime.now(SERVICE_TZ).strftime("%Y-%m-%d %H:%M:%S")
        reports = []
        for number in numbers:
            code, message = self._outcome(number)
            reports.append(
                {
                    "phone_number": number,
                    "send_time": at,
                    "report_time": at,
                    "success": code == DELIVERED[0],
                    "err_code": code,
                    "err_msg": message,
                    "sms_size": "1",
                    "biz_id": biz_id,
                    "out_id": out_id,
                }
            )
        thread = threading.Thread(target=self._push, args=(PushedReport(reports),), daemon=True)
        with self._lock:
            self._running.add(thread)
        thread.start()

    def _push(self, pushed: PushedReport) -> None:
        """One try (the platform's retries after 1, 5 and 10 minutes are not played)."""
        try:
            response = self._http.post(self.report_url, json=pushed.reports, timeout=15)
            pushed.status, pushed.answer = response.status_code, response.text
        except requests.RequestException as exc:
            pushed.answer = f"push failed: {exc}"
        with self._lock:
            self.reports.append(pushed)

    def _details(self, params: dict[str, str]) -> Response:
        """The texts to one number (the simulator keeps one run's: ``SendDate`` is not read)."""
        number = params.get("PhoneNumber", "")
        if not MOBILE.fullmatch(number) or not re.fullmatch(r"\d{8}", params.get("SendDate", "")):
            return gateway.body("isv.INVALID_PARAMETERS", "参数异常")
        with self._lock:
            found = [
                {
                    "PhoneNum": m.to,
                    "SendStatus": 3 if self._outcome(m.to) == DELIVERED else 2,
                    "ErrCode": self._outcome(m.to)[0],
                    "TemplateCode": m.template,
                    "Content": m.body,
                    "OutId": out_id,
                }
                for _, m, out_id in self.account.sent
                if m.to == number
            ]
        page = found[: int(params.get("PageSize", "10") or 10)]
        return gateway.body(
            "OK",
            "OK",
            TotalCount=len(found),
            SmsSendDetailDTOs={"SmsSendDetailDTO": page},
        )

    def _sign(self, params: dict[str, str]) -> Response:
        name = params.get("SignName", "")
        if name not in self.account.sign_names:
            return gateway.body("isv.SMS_SIGN_ILLEGAL", "签名不存在")
        status = self.account.sign_names[name]
        return gateway.body("OK", "OK", SignName=name, SignStatus=status)

    def _template(self, params: dict[str, str]) -> Response:
        code = params.get("TemplateCode", "")
        template = self.account.templates.get(code)
        if template is None:
            return gateway.body("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        return gateway.body(
            "OK",
            "OK",
            TemplateCode=code,
            TemplateStatus=template.status,
            TemplateContent=template.content,
            TemplateType=1,
        )


def _values(template: Template, raw: str) -> tuple[dict[str, str], tuple[str, str] | None]:
    """``TemplateParam`` checked against the template, or the refusal (code, message)."""
    try:
        values = json.loads(raw)
    except ValueError:
        return {}, ("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        return {}, ("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
    wanted = template.variables()
    if set(values) - set(wanted):
        return {}, ("isv.SMS_TEMPLATE_ILLEGAL", "模板变量与模板不符")
    if set(wanted) - set(values):
        return {}, ("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
    for name, value in values.items():
        refusal = _refused_value(template.properties.get(name, TEXT), value)
        if refusal is not None:
            return {}, refusal
    return values, None


def _refused_value(kind: str, value: str) -> tuple[str, str] | None:
    if not value.strip():
        return "isv.TEMPLATE_PARAMS_ILLEGAL", "模板变量内容不能为空"
    if LINKISH.search(value):
        return "isv.PARAM_NOT_SUPPORT_URL", "不支持URL"
    if len(value) > MAX_VARIABLE:
        return "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制"
    if kind == PHONE and not FIXED_OR_MOBILE.fullmatch(value):
        return "isv.TEMPLATE_PARAMS_ILLEGAL", "变量内容与变量属性不符"
    if kind == NUMBER and not value.isdigit():
        return "isv.TEMPLATE_PARAMS_ILLEGAL", "变量内容与变量属性不符"
    return None
