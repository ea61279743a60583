"""Words staff read for the values stored in the database (reasons, statuses, outcomes, …).

Stored values stay English identifiers (they are a contract with the CLI, the API and exports);
these labels are what the pages show, in Chinese first and translated like every other string.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

REASONS = {
    "fever": _l("发热"),
    "high_fever": _l("高热"),
    "low_temperature": _l("体温过低"),
    "rising_temperature": _l("体温上升"),
    "symptoms": _l("有症状"),
    "callback_requested": _l("请求回电"),
    "unreachable": _l("联系不上"),
    "no_response": _l("接听未应答"),
    "bad_phone": _l("号码无效"),
}
SEVERITIES = {"urgent": _l("紧急"), "high": _l("重要"), "normal": _l("一般")}
ESCALATION_STATUSES = {"open": _l("待处理"), "acknowledged": _l("已确认"), "resolved": _l("已解决")}
OUTCOMES = {
    "visited": _l("已上门"),
    "called_back": _l("已回电"),
    "hospital": _l("已送医"),
    "false_alarm": _l("误报"),
    "other": _l("其他"),
    "checked_in": _l("已报平安"),  # by the system, when the resident checked in after all
}
ANSWER_KEYS = {  # the built-in flow's answers; a custom flow's own keys show as they are
    "temperature_c": _l("体温 (°C)"),
    "symptoms": _l("有无症状"),
    "needs": _l("需要"),
    "callback_requested": _l("请求回电"),
}
NEEDS = {
    "groceries": _l("代买生活物资"),
    "medicine": _l("代购药品"),
    "supplies": _l("口罩消毒用品"),
    "garbage": _l("垃圾清运"),
}
ORDER_STATUSES = {
    "open": _l("待接单"),
    "taken": _l("已接单"),
    "delivered": _l("已送达"),
    "cancelled": _l("已取消"),
}
NOTIFICATION_STATUSES = {
    "pending": _l("待发送"),
    "sending": _l("发送中"),
    "sent": _l("已发送"),
    "failed": _l("发送失败"),
}
TEXT_KINDS = {  # the texts Pingan sends (``Notification.kind``; reminders are numbered)
    "opened": _l("预警短信"),
    "family": _l("家属短信"),
    "recovered": _l("已恢复短信"),
}
DELIVERIES = {  # what the phone network reported about a sent text (``Notification.delivery``)
    "delivered": _l("已送达"),
    "failed": _l("未送达"),
}
CHECKIN_STATUSES = {
    "pending": _l("待呼叫"),
    "complete": _l("已完成"),
    "partial": _l("部分完成"),
    "missed": _l("未接通"),
}
COLOURS = {  # the five-colour board (五色动态监管图), plus residents not called yet today
    "red": _l("红：紧急"),
    "orange": _l("橙：发热或未接通"),
    "yellow": _l("黄：部分完成"),
    "green": _l("绿：已报平安"),
    "grey": _l("灰：解除或暂停"),
    "pending": _l("白：今日待呼叫"),
}
WHY_ORANGE = {"fever": _l("发热"), "unreached": _l("未接通")}
ROLES = {
    "staff": _l("社区工作人员"),
    "supervisor": _l("督导"),
    "admin": _l("管理员"),
    "property": _l("物业"),
}
CALL_STATUSES = {
    "queued": _l("排队"),
    "initiated": _l("呼叫发起"),
    "ringing": _l("振铃"),
    "in-progress": _l("通话中"),
    "answered": _l("已接听"),
    "completed": _l("已接通"),
    "busy": _l("忙线"),
    "no-answer": _l("无人接听"),
    "failed": _l("失败"),
    "canceled": _l("已取消"),
    # Pingan's own stages of an attempt, shown while the carrier has reported no status.
    "dialing": _l("拨号中"),
    "placed": _l("已拨出"),
    "in_call": _l("通话中"),
    "ended": _l("已结束"),
}
EVENT_KINDS = {
    "status": _l("状态"),
    "key": _l("按键"),
    "silence": _l("无输入"),
    "dial": _l("转接"),
    "answer": _l("接听"),
    "flow": _l("流程"),
    "error": _l("错误"),
    "news": _l("播报"),
}
# What a call-timeline entry names, besides a call status: the step of the built-in flow a key
# or a silence belongs to, who answered, what a transfer leg did. A custom flow's own step
# names are the operator's words and are shown as they are.
EVENT_NAMES = {
    **CALL_STATUSES,
    "checkin": _l("每日健康登记"),
    "identify": _l("来电识别"),
    "release": _l("解除隔离通知"),
    "released": _l("解除隔离通知"),
    "greeting": _l("开场问候"),
    "temperature": _l("体温"),
    "symptoms": _l("症状"),
    "needs": _l("需求"),
    "transfer": _l("转接工作人员"),
    "goodbye": _l("结束语"),
    "no_response": _l("无应答结束"),
    "welcome": _l("来电问候"),
    "registered_phone": _l("输入登记电话"),
    "identified": _l("已识别"),
    "to_staff": _l("转接工作人员"),
    "human": _l("本人接听"),
    "machine_start": _l("语音信箱"),
    "machine_end_beep": _l("语音信箱"),
    "machine_end_silence": _l("语音信箱"),
    "machine_end_other": _l("语音信箱"),
    "fax": _l("传真机"),
    "unknown": _l("无法判断"),
    "accepted": _l("已接受"),
    "declined": _l("未接受"),
    "nobody_accepted": _l("无人接受"),
    "no_one_to_call": _l("无人可转接"),
    "news": _l("播报"),
    "notice": _l("社区通知"),
    "order_taken": _l("订单已接单"),
    "order_taken_today": _l("订单已接单，今天送达"),
    "order_taken_tomorrow": _l("订单已接单，明天送达"),
    "order_delivered": _l("订单已送达"),
    "order_delivered_today": _l("订单已送达"),
    "order_delivered_yesterday": _l("订单已送达"),
    "garbage_collected": _l("垃圾已收走"),
    "release_today": _l("隔离期满"),
}
AUDIT_ACTIONS = {
    "opened": _l("开启"),
    "event_added": _l("新情况"),
    "reminded": _l("超时提醒"),
    "alert_call_queued": _l("拨打预警电话"),
    "alert_call_ended": _l("预警电话结束"),
    "alert_call_exhausted": _l("预警电话无人确认"),
    "sms_undelivered": _l("短信未送达"),
    "sms_passed_on": _l("短信改发下一位"),
    "acknowledged": _l("确认"),
    "resolved": _l("解决"),
    "edited": _l("修改"),
    "hold": _l("暂停呼叫"),
    "released": _l("解除隔离"),
    "release_call_queued": _l("解除隔离通知电话"),
    "release_call_ended": _l("解除隔离通知电话结束"),
    "release_call_unreached": _l("解除隔离通知电话未打通，请工作人员电话告知"),
    "resumed": _l("恢复呼叫"),
    "imported": _l("导入"),
    "updated": _l("导入更新"),
    "created": _l("创建"),
    "phone_invalid": _l("号码无效"),
    "checkin_recorded": _l("代为登记"),
    "staff_added": _l("添加工作人员"),
    "staff_removed": _l("移除工作人员"),
    "order_opened": _l("新订单"),
    "order_reopened": _l("订单重新开启"),
    "order_taken": _l("接单"),
    "order_delivered": _l("送达"),
    "order_cancelled": _l("取消订单"),
}
CALL_OUTCOMES = {  # how a call ended (``CallAttempt.outcome``)
    "finished": _l("通话完成"),
    "no_response": _l("接听但未按键"),
    "machine": _l("语音信箱"),
    "hung_up": _l("中途挂断"),
    "not_reached": _l("未接通"),
    "not_placed": _l("未能拨出"),
    "no_webhooks": _l("回调未到达（平安故障）"),
    "cancelled": _l("已取消"),
    "lost": _l("未能拨出"),
}
RELEASE_CALL_RESULTS = {  # how a release call went (``release_calls.result_of``)
    "heard": _l("已听到通知"),
    "hung_up": _l("接听后挂断"),
    "machine": _l("语音信箱"),
    "no-answer": _l("无人接听"),
    "busy": _l("占线"),
    "failed": _l("失败"),
    "canceled": _l("已取消"),
    "cancelled": _l("已取消（已恢复呼叫）"),
    "lost": _l("未能拨出"),
}
RESIDENT_FIELDS = {  # the fields an import names in the change history
    "name": _l("姓名"),
    "phone": _l("电话"),
    "community": _l("社区"),
    "address": _l("住址"),
    "language": _l("语言"),
    "isolation_start": _l("隔离开始"),
    "isolation_days": _l("隔离天数"),
    "lives_alone": _l("独居"),
    "emergency_contact": _l("紧急联系人"),
    "notify_family": _l("通知家属"),
    "notes": _l("备注"),
    "preferred_times": _l("呼叫时间"),
}
LANGUAGES = {"zh-CN": _l("普通话"), "en": _l("英语"), "yue": _l("粤语")}
ACTORS = {"system": _l("系统"), "cli": _l("命令行")}  # who acted, when it was not a person


def listing(items: Iterable[object]) -> str:
    """Several values in one line: "代买生活物资、代购药品" ("Groceries, Medicine")."""
    return str(_("、")).join(str(item) for item in items)


def _fields(names: str) -> str:
    return listing(label(RESIDENT_FIELDS, n.strip()) for n in names.split(","))


VIA = {"sms": _l("短信"), "dashboard": _l("网页")}
CHECKED_IN_HOW = {
    "call": _l("电话"),
    "call-back": _l("回拨"),
    "recorded by staff": _l("工作人员代登记"),
    "chat": _l("在聊天中"),  # a check-in answered on Telegram (source telegram)
}


def _text_kind(kind: str) -> str:
    """A text's kind (``Notification.kind``) in the history's words."""
    if kind.startswith("reminder-"):
        return str(_("第 %(n)s 次提醒短信", n=kind.split("-")[1]))
    return str(label(TEXT_KINDS, kind))


def _checked_in(found: re.Match[str]) -> str:
    """The note the system leaves when a resident it could not reach checks in after all."""
    reading = found[4] if found[4] != "no reading" else _("无体温")
    how = label(CHECKED_IN_HOW, found[2])
    return str(_("%(time)s %(how)s报平安：%(reading)s", time=found[3], how=how, reading=reading))


def _resolved(found: re.Match[str]) -> str:
    note = audit_detail(found[2]) if found[1] == "checked_in" else found[2]
    return str(_("%(outcome)s：%(note)s", outcome=label(OUTCOMES, found[1]), note=note))


# The change history's details are stored in English (they are also read in the CLI's audit
# output); the pages translate the ones the system writes itself. Notes typed by staff stay.
AUDIT_DETAILS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"imported from CSV line (\d+)"), lambda m: _("从 CSV 第 %(n)s 行导入", n=m[1])),
    (
        re.compile(r"CSV line (\d+): (.+)"),
        lambda m: _("CSV 第 %(n)s 行：%(fields)s", n=m[1], fields=_fields(m[2])),
    ),
    (re.compile(r"added one resident"), lambda m: _("单个添加")),
    (re.compile(r"from a residents CSV"), lambda m: _("随居民 CSV 导入")),
    (
        re.compile(r"until (\S+): (.*)", re.S),
        lambda m: _("至 %(day)s：%(reason)s", day=m[1], reason=m[2]),
    ),
    (re.compile(r"via (\w+)"), lambda m: _("通过%(how)s", how=label(VIA, m[1]))),
    (
        re.compile(r"((?:\w+, )*\w+) \(dashboard\)"),
        lambda m: _("%(fields)s（%(how)s）", fields=_fields(m[1]), how=label(VIA, "dashboard")),
    ),
    (re.compile(r"dashboard"), lambda m: label(VIA, "dashboard")),
    (
        re.compile(r"reminder-(\d+): (\d+) messages"),
        lambda m: _("第 %(n)s 次提醒：%(count)s 条消息", n=m[1], count=m[2]),
    ),
    (re.compile(r"isolation ended (\S+)"), lambda m: _("隔离期满（%(day)s）", day=m[1])),
    (
        re.compile(r"call (\d) at (\S+ \S+)"),
        lambda m: _("第 %(n)s 次，%(at)s", n=m[1], at=m[2]),
    ),
    (
        re.compile(r"call (\d): ([\w-]+)"),
        lambda m: _("第 %(n)s 次：%(result)s", n=m[1], result=label(RELEASE_CALL_RESULTS, m[2])),
    ),
    (
        re.compile(r"heard|hung_up|machine|no-answer|busy|failed|canceled|lost"),
        lambda m: label(RELEASE_CALL_RESULTS, m[0]),
    ),
    (
        re.compile(r"(opened|reminder-\d+|family|recovered): (.+)", re.S),
        lambda m: _("%(text)s：%(what)s", text=_text_kind(m[1]), what=m[2]),
    ),
    (
        re.compile(r"check-in (\d+) \((call|call-back|recorded by staff|chat)\) at (\S+): (.+)"),
        _checked_in,
    ),
    (re.compile(rf"({'|'.join(OUTCOMES)}): (.*)", re.S), _resolved),
)


# Why a carrier refused a number, in words staff can act on: the codes the dialer stores with
# a ``bad_phone`` escalation and on the resident (``ivr.worker.dial_errors``).
PHONE_REFUSALS: tuple[tuple[re.Pattern[str], Callable[[], str]], ...] = (
    (
        re.compile(r"\b21215\b.*\+86|\+86.*\b21215\b", re.S),
        lambda: _(
            "Twilio 自 2023 年 11 月 30 日起不再呼叫中国大陆号码："
            "中国大陆的居民请改用阿里云语音服务（PINGAN_CARRIER=aliyun）"
        ),
    ),
    (re.compile(r"\b21215\b"), lambda: _("本账号未开通呼叫该国家或地区的权限（Twilio 地域权限）")),
    (re.compile(r"isv\.MOBILE_NUMBER_ILLEGAL"), lambda: _("阿里云语音服务只能呼叫中国大陆号码")),
)


def phone_refusal(detail: str | None) -> str:
    """Why the carrier cannot call a number, or nothing when the refusal is not a known one."""
    for pattern, words in PHONE_REFUSALS:
        if detail and pattern.search(detail):
            return str(words())
    return ""


def audit_detail(detail: str | None) -> str:
    if not detail:
        return ""
    for pattern, words in AUDIT_DETAILS:
        found = pattern.fullmatch(detail)
        if found:
            return words(found)
    return detail


# A call-timeline entry's detail: what was keyed (as keyed), a call's length ("45s"), a
# transfer leg ("leg 2: +86…").
EVENT_DETAILS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(\d+)s"), lambda m: _("%(s)s 秒", s=m[1])),
    (re.compile(r"leg (\d+)"), lambda m: _("第 %(n)s 路", n=m[1])),
    (re.compile(r"leg (\d+): (.*)", re.S), lambda m: _("第 %(n)s 路：%(what)s", n=m[1], what=m[2])),
)


def event_detail(detail: str | None) -> str:
    for pattern, words in EVENT_DETAILS:
        found = pattern.fullmatch(detail or "")
        if found:
            return str(words(found))
    return detail or ""


def duration(value: dt.timedelta) -> str:
    """``15 分钟``, ``45 秒``, ``2 小时``: the largest unit that divides the duration."""
    seconds = int(value.total_seconds())
    if seconds and seconds % 3600 == 0:
        return str(_("%(n)s 小时", n=seconds // 3600))
    if seconds and seconds % 60 == 0:
        return str(_("%(n)s 分钟", n=seconds // 60))
    return str(_("%(s)s 秒", s=seconds))


def label(table: dict[str, object], value: str | None) -> str:
    """The label of ``value``, or the value itself for one the table does not know."""
    if value is None:
        return ""
    return str(table.get(value, value))


def yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return str(_l("是") if value else _l("否"))


SETTING_DOCS = {  # what the settings page says of each setting (the README has the details)
    "PINGAN_DATABASE_URL": _l("数据库地址；未设置时使用实例文件夹中的 SQLite 文件"),
    "PINGAN_INSTANCE_PATH": _l("存放 SQLite 文件和自动生成密钥的文件夹"),
    "PINGAN_PUBLIC_URL": _l("运营商访问回调的公网地址；模拟器未设置时自带服务器"),
    "PINGAN_CARRIER": _l("通话运营商：twilio 或 simulator（模拟器）"),
    "TWILIO_ACCOUNT_SID": _l("Twilio 账户 SID"),
    "TWILIO_AUTH_TOKEN": _l("Twilio 认证令牌：用于校验每个回调"),
    "PINGAN_TWILIO_API_BASE": _l("Twilio 接口地址（可换成兼容的服务器）"),
    "PINGAN_CALLER_ID": _l("外呼显示的主叫号码"),
    "PINGAN_TIMEZONE": _l("呼叫轮次、呼叫时段和页面显示所用的时区"),
    "PINGAN_LANGUAGE": _l("未设置语言的居民使用的语言"),
    "PINGAN_PHONE_REGION": _l("不带国家代码的号码所属地区"),
    "PINGAN_FEVER_C": _l("发热阈值（°C，≥）"),
    "PINGAN_HIGH_FEVER_C": _l("高热阈值（°C，≥）：紧急"),
    "PINGAN_LOW_TEMPERATURE_C": _l("体温过低阈值（°C，<）"),
    "PINGAN_RISING_DELTA_C": _l("比上次读数升高多少即为体温上升（°C）"),
    "PINGAN_RISING_FROM_C": _l("读数达到此值才判断体温上升（°C）"),
    "PINGAN_ACK_URGENT": _l("紧急预警超过此时长未确认即再次通知，并通知督导"),
    "PINGAN_ACK_HIGH": _l("重要预警的同样时限"),
    "PINGAN_SMS_FROM": _l("工作人员短信的发送号码；默认同主叫号码"),
    "PINGAN_DUTY_PHONE": _l("找不到所属社区的来电转接的值班电话"),
    "PINGAN_RECORDINGS_DIR": _l("录音提示文件所在文件夹"),
    "PINGAN_CALLS_PER_SECOND": _l("每秒新拨出的电话数（所有进程合计）"),
    "PINGAN_MAX_CONCURRENT_CALLS": _l("同时进行的通话上限"),
    "PINGAN_RETRY_DELAY": _l("呼叫失败后再次呼叫前的等待时间"),
    "PINGAN_MAX_ATTEMPTS": _l("每位居民每轮最多呼叫次数"),
    "PINGAN_RING_TIMEOUT": _l("振铃多久算作无人接听"),
    "PINGAN_CALL_TIME_LIMIT": _l("一次报平安通话的最长时长"),
    "PINGAN_ROUND_TIMES": _l("社区默认的呼叫轮次时间（当地时间）"),
    "PINGAN_CALL_WINDOW": _l("社区默认的呼叫时段（当地时间），时段外不呼叫"),
    "PINGAN_SPEECH_RATE": _l("语音播报语速，默认比正常稍慢"),
    "PINGAN_MACHINE_DETECTION": _l("是否让运营商识别语音信箱（会多几秒静音）"),
    "PINGAN_FLOW_FILE": _l("替代内置流程的报平安流程文件"),
    "PINGAN_SECRET_KEY": _l("登录会话的密钥；未设置时自动生成"),
    "PINGAN_WEB_WORKERS": _l("pingan serve 的网页进程数"),
    "PINGAN_TRUSTED_PROXIES": _l("前置反向代理的层数（nginx 后面为 1）"),
    "PINGAN_LOG_LEVEL": _l("日志级别"),
}


EXPORT_COLUMNS = {  # the first header row of an export; the second keeps these codes
    "id": _l("编号"),
    "date": _l("日期"),
    "round": _l("轮次"),
    "community": _l("社区"),
    "name": _l("姓名"),
    "phone": _l("电话"),
    "address": _l("住址"),
    "status": _l("状态"),
    "temperature_c": _l("体温 (°C)"),
    "temperature_confirmed": _l("体温已确认"),
    "symptoms": _l("有无症状"),
    "needs": _l("需求"),
    "callback_requested": _l("请求回电"),
    "attempts": _l("呼叫次数"),
    "source": _l("来源"),
    "household": _l("同户居民"),
    "call_sid": _l("通话编号"),
    "created_at": _l("时间"),
    "direction": _l("方向"),
    "attempt": _l("次数"),
    "state": _l("进度"),
    "answered_by": _l("接听方"),
    "duration_s": _l("时长（秒）"),
    "outcome": _l("结果"),
    "keys": _l("按键"),
    "error": _l("错误"),
    "opened_at": _l("开始时间"),
    "reason": _l("原因"),
    "severity": _l("级别"),
    "events": _l("次数"),
    "acknowledged_by": _l("确认人"),
    "acknowledged_at": _l("确认时间"),
    "resolved_by": _l("解决人"),
    "resolved_at": _l("解决时间"),
    "note": _l("备注"),
    "detail": _l("经过（英文，供程序读取）"),
    "detail_text": _l("经过"),
    "need": _l("需求"),
    "taken_by": _l("接单人"),
    "taken_at": _l("接单时间"),
    "delivered_by": _l("送达人"),
    "delivered_at": _l("送达时间"),
}


def export_column(code: str) -> str:
    """ "answer:symptoms" → "回答：有无症状"; a custom flow's own keys show as they are."""
    if code.startswith("answer:"):
        key = code.removeprefix("answer:")
        return str(_("回答：%(key)s", key=label(ANSWER_KEYS, key)))
    return label(EXPORT_COLUMNS, code)
