"""The sample sub-district of ``pingan demo``: four communities modelled on a real one in
Zhengzhou's Zhongyuan district, and residents whose simulated behaviour covers every path of the
call (healthy, fever, no answer, busy then answer, a typo, hang-up, needs, transfer, …)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Community:
    name: str
    hotline: str
    duty_phone: str | None  # None: pressing 0 leads to a call-back request


@dataclass(frozen=True)
class Sample:
    name: str
    phone: str
    community: str
    address: str
    behaviours: tuple[str, ...]  # simulator scripts, one per call (the last repeats)
    story: tuple[str, str]  # the resident's notes in Chinese and in English
    language: str = "zh-CN"
    lives_alone: bool = False


COMMUNITIES = (
    Community("中原社区", "+8637167880001", "+8613903710001"),
    Community("祥和社区", "+8637167880002", None),
    Community("康桥华城社区", "+8637167880003", "+8613903710003"),
    Community("嵩山社区", "+8637167880004", "+8613903710004"),
)


@dataclass(frozen=True)
class StaffMember:
    name: str
    phone: str
    community: str | None  # None: a supervisor of the whole sub-district
    role: str = "staff"


STAFF = (
    StaffMember("赵红梅", "13903710011", "中原社区"),
    StaffMember("钱建军", "13903710012", "祥和社区"),
    StaffMember("孙丽", "13903710013", "康桥华城社区"),
    StaffMember("李强", "13903710014", "嵩山社区"),
    StaffMember("周主任", "13903710099", None, "supervisor"),
)

HEALTHY = "answer 1 365# 1 2 9"

# Read after the questions in every call of its community (Chinese and English deployments).
NOTICE = (
    "中原社区",
    "明天上午八点到十一点在小区东门做核酸检测，请戴好口罩，错峰下楼。",
    "Testing at the east gate tomorrow from 8 to 11 in the morning. Please wear a mask.",
)
# Groceries 王秀英 asked for yesterday, delivered yesterday evening: her call says so.
DELIVERED = ("13803710101", "groceries", "赵红梅")

SAMPLES: tuple[Sample, ...] = (
    Sample(
        "王秀英",
        "13803710101",
        "中原社区",
        "建设西路12号院3号楼2单元501",
        (HEALTHY + " 1",),  # a key after the news: she hears goodbye
        ("身体健康", "healthy"),
    ),
    Sample(
        "李建国",
        "13803710102",
        "中原社区",
        "建设西路12号院1号楼1单元302",
        ("answer 1 378# 1 2 9",),
        ("发热 37.8 °C", "fever 37.8 °C"),
    ),
    Sample(
        "张桂兰",
        "13803710103",
        "中原社区",
        "桐柏路88号院6号楼3单元101",
        ("answer 1 392# 1 1 9",),
        ("高热 39.2 °C，有症状", "high fever 39.2 °C with symptoms"),
        lives_alone=True,
    ),
    Sample(
        "刘德华",
        "0371-67881104",
        "中原社区",
        "桐柏路88号院2号楼1单元202",
        ("no-answer",),
        (
            "固定电话，始终无人接听：每次呼叫都联系不上",
            "never answers (landline): unreachable after every attempt",
        ),
    ),
    Sample(
        "陈玉珍",
        "13803710105",
        "中原社区",
        "建设西路12号院5号楼4单元603",
        ("busy", HEALTHY),
        ("第一次忙线，第二次接听", "busy on the first try, answers on the second"),
    ),
    Sample(
        "杨志强",
        "13803710201",
        "祥和社区",
        "伏牛路20号院2号楼1单元401",
        ("answer 1 999# 368# 1 2 9",),
        ("先按错体温，再按对", "keys a wrong temperature, then the right one"),
    ),
    Sample(
        "赵淑芬",
        "13803710202",
        "祥和社区",
        "伏牛路20号院7号楼2单元102",
        ("answer 1 365# 1 hangup",),
        ("报完体温就挂断：部分完成", "hangs up after the temperature: partial"),
    ),
    Sample(
        "黄明",
        "13803710203",
        "祥和社区",
        "秦岭路6号院1号楼3单元502",
        ("answer 1 364# 1 2 1 2 9",),
        ("需要代买生活物资和代购药品", "asks for groceries and medicine"),
    ),
    Sample(
        "周丽华",
        "13803710204",
        "祥和社区",
        "秦岭路6号院4号楼1单元301",
        ("answer 1 366# 1 2 0",),
        (
            "按 0 找工作人员；无人值班：请求回电",
            "presses 0 for staff; nobody on duty: call-back requested",
        ),
    ),
    Sample(
        "吴国强",
        "13803710205",
        "祥和社区",
        "伏牛路20号院3号楼2单元201",
        ("answer 1 348# 1 2 9",),
        ("体温过低 34.8 °C", "low temperature 34.8 °C"),
        lives_alone=True,
    ),
    Sample(
        "徐凤英",
        "13803710301",
        "康桥华城社区",
        "康桥华城8号楼2单元1601",
        ("answer 1 367# 1 2 0 dial=completed",),
        ("按 0 转接值班人员", "presses 0 and talks to the duty officer"),
    ),
    Sample(
        "孙文",
        "13803710302",
        "康桥华城社区",
        "康桥华城3号楼1单元903",
        ("answer 8 1 366# 1 2 3 4 9",),
        (
            "先按 8 听热线电话，再要口罩消毒用品和垃圾清运",
            "asks for the hotline (8), then masks and garbage pickup",
        ),
    ),
    Sample(
        "Emily Carter",
        "13803710303",
        "康桥华城社区",
        "康桥华城5号楼1单元1202",
        ("answer 1 371# 1 2 9",),
        ("说英语，身体健康", "English speaker, healthy"),
        language="en",
    ),
    Sample(
        "David Miller",
        "13803710304",
        "康桥华城社区",
        "康桥华城9号楼2单元801",
        ("answer 1 386# 1 1 9",),
        ("说英语，高热 38.6 °C，有症状", "English speaker, high fever 38.6 °C with symptoms"),
        language="en",
    ),
    Sample(
        "马秀兰",
        "13803710305",
        "康桥华城社区",
        "康桥华城1号楼1单元101",
        ("no-answer",),
        ("独居，始终无人接听：紧急", "lives alone and never answers: urgent"),
        lives_alone=True,
    ),
    Sample(
        "朱建华",
        "13803710401",
        "嵩山社区",
        "嵩山路105号院2号楼1单元402",
        ("answer - - -",),
        ("接听但不按键：接听未应答", "answers but keys nothing: no response"),
    ),
    Sample(
        "胡小梅",
        "13803710402",
        "嵩山社区",
        "嵩山路105号院4号楼3单元301",
        ("answer * 1 * 365# 1 2 9",),
        ("按 * 重听问题", "presses * to hear the questions again"),
    ),
    Sample(
        "郭伟",
        "13803710403",
        "嵩山社区",
        "嵩山路99号院1号楼2单元602",
        ("reject:21211",),
        ("号码无法拨通：号码无效", "the number cannot be dialled: bad phone"),
    ),
    Sample(
        "林美玲",
        "13803710404",
        "嵩山社区",
        "嵩山路99号院6号楼1单元502",
        ("answer 1 366# 1 2 9",),
        ("说粤语，身体健康", "Cantonese speaker, healthy"),
        language="yue",
    ),
    Sample(
        "何志明",
        "13803710405",
        "嵩山社区",
        "嵩山路105号院7号楼2单元201",
        ("no-answer", "no-answer", "answer 1 372# 1 2 2 9"),
        ("第三次呼叫才接听；需要代购药品", "answers only the third call; asks for medicine"),
    ),
)


# A couple on one landline: one call asks each of them in turn (a household, issue 13).
HOUSEHOLD_CALL = "answer 1 365# 1 2 368# 1 2 9"
HOUSEHOLD = (
    Sample(
        "刘桂芝",
        "0371-65128888",
        "中原社区",
        "建设西路14号院2号楼1单元101",
        (HOUSEHOLD_CALL,),
        ("与老伴共用一部座机，一通电话两人都登记", "shares a landline with her husband"),
    ),
    Sample(
        "陈国华",
        "0371-65128888",
        "中原社区",
        "建设西路14号院2号楼1单元101",
        (HOUSEHOLD_CALL,),
        ("与老伴共用一部座机，一通电话两人都登记", "shares a landline with his wife"),
    ),
)
SAMPLES = SAMPLES + HOUSEHOLD


def residents_csv(language: str = "zh-CN") -> str:
    """The sample residents as the CSV a community office would import, with notes in the
    deployment's language (Cantonese deployments write Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "name",
            "phone",
            "community",
            "address",
            "language",
            "isolation_days",
            "lives_alone",
            "notes",
        ]
    )
    for s in SAMPLES:
        writer.writerow(
            [
                s.name,
                s.phone,
                s.community,
                s.address,
                s.language,
                14,
                "1" if s.lives_alone else "0",
                s.story[1] if language == "en" else s.story[0],
            ]
        )
    return out.getvalue()
