"""The importer's messages in Chinese for the dashboard.

The importer speaks English because the same messages serve ``pingan residents import`` and
operators' scripts; staff on the Chinese dashboard read them here in Chinese. A message with no
pattern below (a new one) is shown as it is rather than hidden.
"""

# ruff: noqa: E501  (a table of message patterns reads best one pattern to a line)
from __future__ import annotations

import re

COLUMNS = {
    "name": "姓名",
    "phone": "电话",
    "community": "社区",
    "address": "住址",
    "language": "语言",
    "isolation_start": "隔离开始日期",
    "isolation_days": "隔离天数",
    "lives_alone": "独居",
    "emergency_contact": "紧急联系人电话",
    "notify_family": "预警时短信通知家属",
    "notes": "备注",
    "preferred_times": "自定呼叫时间",
}
_CELL = r'(?P<column>\w+) "(?P<raw>[^"]*)": '
_PATTERNS = [
    (r"(?P<column>\w+) is empty", "{column}为空"),
    (r"(?P<column>\w+) is longer than (?P<n>\d+) characters", "{column}超过 {n} 个字"),
    (r"emergency_contact is the resident's own phone", "紧急联系人电话就是居民本人的电话"),
    (_CELL + r"same number and name as line (?P<n>\d+)", "{column}“{raw}”与第 {n} 行的号码和姓名都相同（同一居民）"),
    (_CELL + r"not a date such as .*", "{column}“{raw}”不是日期（如 2026-11-28）"),
    (_CELL + r"not a whole number of days from 1 to (?P<n>\d+)", "{column}“{raw}”不是 1 到 {n} 的天数"),
    (_CELL + r"not yes or no .*", "{column}“{raw}”请填“是”或“否”（1/0）"),
    (_CELL + r"not one of .*", "{column}“{raw}”请填 zh-CN（普通话）、yue（粤语）或 en（英语）"),
    (_CELL + r"not times of day .*", "{column}“{raw}”请写成 10:30;17:00 这样的时间"),
    (_CELL + r"too short for a \w+ number", "{column}“{raw}”位数太少"),
    (_CELL + r"too long .*", "{column}“{raw}”位数太多"),
    (_CELL + r"a landline needs its area code.*", "{column}“{raw}”是座机号码，请加区号，如 0371-65123456"),
    (_CELL + r"Excel turned it into a rounded number.*", "{column}“{raw}”被 Excel 变成了科学计数法，请把该列设为文本"),
    (_CELL + r"has an extension.*", "{column}“{raw}”带分机号，无法拨打"),
    (_CELL + r"unknown country code", "{column}“{raw}”的国家代码无效"),
    (_CELL + r"not a (valid|phone) number", "{column}“{raw}”不是有效的电话号码"),
    (r"this is an Excel workbook.*", "这是 Excel 工作簿，不是 CSV：请另存为“CSV UTF-8”"),
    (r"the file is UTF-16.*", "文件是 UTF-16（Excel 的“Unicode 文本”）：请另存为“CSV UTF-8”"),
    (r"the file says it is UTF-8 but is not.*", "文件标明是 UTF-8，但内容不是：请另存为“CSV UTF-8”"),
    (r"the file is neither UTF-8 nor GBK.*", "文件既不是 UTF-8 也不是 GBK 文本：请另存为“CSV UTF-8”"),
    (r"the file is not text.*", "文件不是文本：请另存为 CSV"),
    (r"line (?P<n>\d+): the quotes do not match.*", "第 {n} 行的引号不配对"),
    (r"the file is empty.*", "文件是空的：第一行须是列名，如 name,phone,community"),
    (r"column \"(?P<raw>[^\"]*)\" appears twice.*", "列“{raw}”在第一行出现了两次"),
    (r"missing required columns? .*", "缺少必填的列：第一行须有 name,phone,community（用逗号分隔）"),
]  # fmt: skip
_COMPILED = [(re.compile(pattern), chinese) for pattern, chinese in _PATTERNS]


def in_chinese(message: str) -> str:
    for pattern, chinese in _COMPILED:
        found = pattern.fullmatch(message)
        if found:
            values = found.groupdict()
            if "column" in values:
                values["column"] = COLUMNS.get(values["column"], values["column"])
            return chinese.format(**values)
    return message


def column_in_chinese(column: str) -> str:
    return COLUMNS.get(column, column)
