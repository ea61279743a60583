"""Words staff read for the values stored in the database (reasons, statuses, outcomes, …).

Stored values stay English identifiers (they are a contract with the CLI, the API and exports);
these labels are what the pages show, in Chinese first and translated like every other string.
"""

from __future__ import annotations

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
ROLES = {"staff": _l("社区工作人员"), "supervisor": _l("督导"), "admin": _l("管理员")}
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
}
EVENT_KINDS = {
    "status": _l("状态"),
    "key": _l("按键"),
    "silence": _l("无输入"),
    "dial": _l("转接"),
    "answer": _l("接听"),
    "flow": _l("流程"),
    "error": _l("错误"),
}
AUDIT_ACTIONS = {
    "opened": _l("开启"),
    "event_added": _l("新情况"),
    "reminded": _l("超时提醒"),
    "acknowledged": _l("确认"),
    "resolved": _l("解决"),
    "edited": _l("修改"),
    "hold": _l("暂停呼叫"),
    "released": _l("解除隔离"),
    "resumed": _l("恢复呼叫"),
    "imported": _l("导入"),
    "updated": _l("导入更新"),
    "created": _l("创建"),
    "phone_invalid": _l("号码无效"),
    "checkin_recorded": _l("代为登记"),
}
LANGUAGES = {"zh-CN": _l("普通话"), "en": _l("英语"), "yue": _l("粤语")}


def label(table: dict[str, object], value: str | None) -> str:
    """The label of ``value``, or the value itself for one the table does not know."""
    if value is None:
        return ""
    return str(table.get(value, value))


def yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return str(_l("是") if value else _l("否"))
