"""A resident's name or address is data: it never becomes markup in the staff group chat.

WeCom group robots render a markdown subset with ``<font color>`` and ``<@userid>`` mentions;
DingTalk renders links, images, headings, quotes, lists and some HTML. A field that carries any
of these must reach the group as the text it is, never as a link, an image, a coloured word or a
fake "已处理" status.
"""

from __future__ import annotations

import re

import pytest

from ivr.notifiers.chat import ChatNotifier, escape_markup
from tests.ivr.test_notifiers import alert

PAYLOADS = {
    "link": "[点此登记](http://evil.example)",
    "image": "![x](http://evil.example/p.png)",
    "colour": '<font color="warning">已处理</font>',
    "mention": "<@all>张桂兰",
    "bold": "**已处理** __已确认__",
    "heading": "张\n### 已处理\n> 已确认",
    "code": "`rm` ~~删~~",
    "bare_url": "访问 http://evil.example 登记",
    "entity": "&lt;font color=&quot;info&quot;&gt;",
}

# What a renderer would turn into markup: any of these left in a field is an injection.
MARKUP = re.compile(r"\[|\]\(|!\[|<|>|\*\*|__|`|~~|\n|://|&(?:lt|gt|quot|#\d+);")


def _text(chat_format: str, **fields: str) -> str:
    payload = ChatNotifier(chat_format).payload(alert(**fields))
    body = payload["markdown"]
    return str(body.get("content") or body["text"])


def _field_line(text: str, label: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(f"- {label}：")]
    return line.removeprefix(f"- {label}：")


@pytest.mark.parametrize("chat_format", ["wecom", "dingtalk"])
@pytest.mark.parametrize("attack", sorted(PAYLOADS))
def test_a_resident_named_with_markup_is_posted_as_plain_text(chat_format, attack) -> None:
    text = _text(chat_format, resident=PAYLOADS[attack])
    shown = _field_line(text, "居民").removesuffix("（中原社区）")
    assert not MARKUP.search(shown), shown
    assert len(text.splitlines()) == len(_text(chat_format).splitlines())  # no extra lines


@pytest.mark.parametrize("chat_format", ["wecom", "dingtalk"])
@pytest.mark.parametrize("attack", sorted(PAYLOADS))
def test_an_address_or_detail_with_markup_is_posted_as_plain_text(chat_format, attack) -> None:
    text = _text(chat_format, address=PAYLOADS[attack], detail=PAYLOADS[attack])
    for label in ("地址", "说明"):
        assert not MARKUP.search(_field_line(text, label))
    # The template's own markup is kept: the heading and the bold acknowledgement code.
    assert text.startswith("### 【平安】") and "**4821**" in text


@pytest.mark.parametrize("chat_format", ["wecom", "dingtalk"])
def test_the_title_and_the_community_are_escaped_too(chat_format) -> None:
    payload = ChatNotifier(chat_format).payload(
        alert(resident="[点此](http://evil.example)", community='<font color="info">社区</font>')
    )
    body = payload["markdown"]
    text = str(body.get("content") or body["text"])
    first = text.splitlines()[0].removeprefix("### ")
    assert not MARKUP.search(first)
    assert not MARKUP.search(_field_line(text, "居民"))
    if chat_format == "dingtalk":
        assert not MARKUP.search(body["title"])


def test_escaped_text_still_reads_the_same_to_a_person() -> None:
    assert escape_markup("wecom", "[点此登记](http://evil.example)") == (
        "［点此登记］（http：//evil.example）"
    )
    assert escape_markup("dingtalk", '<font color="warning">已处理</font>') == (
        '＜font color="warning"＞已处理＜/font＞'
    )
    assert escape_markup("wecom", "桐柏路88号院6号楼3单元101") == "桐柏路88号院6号楼3单元101"


def test_the_generic_json_keeps_the_fields_as_they_are() -> None:
    payload = ChatNotifier("json").payload(alert(resident="[点此登记](http://evil.example)"))
    assert payload["resident"] == "[点此登记](http://evil.example)"
