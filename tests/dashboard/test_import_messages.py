"""Every message the importer can give (in English, for the CLI) reads in Chinese on the
Chinese dashboard: a new message without a translation fails here, not in front of staff."""

from __future__ import annotations

import pytest

from ivr.domain.residents_import import ImportFileError, parse_csv
from ivr.web.dashboard.import_messages import in_chinese

BAD_ROWS = (
    "name,phone,community,address,language,isolation_start,isolation_days,lives_alone,"
    "emergency_contact,notes,preferred_times\n"
    ",13812345678,中原社区,,,,,,,,\n"
    "王秀英,,中原社区,,,,,,,,\n"
    "李建国,12345,中原社区,,,,,,,,\n"
    "张桂兰,65123456,中原社区,,,,,,,,\n"
    "赵大爷,1.38123E+10,中原社区,,,,,,,,\n"
    "钱奶奶,13812345679 ext 12,中原社区,,,,,,,,\n"
    "孙爷爷,+999 1234567,中原社区,,,,,,,,\n"
    "周阿姨,电话待补,中原社区,,,,,,,,\n"
    "吴伯伯,138123456789999,中原社区,,,,,,,,\n"
    f"郑阿姨,13812345670,中原社区,{'址' * 201},fr,明天,0,也许,13812345670,,午饭后\n"
    "冯大爷,13812345670,中原社区,,,,,,,,\n"
)


def test_every_row_error_reads_in_chinese() -> None:
    messages = [e for row in parse_csv(BAD_ROWS, "CN", "zh-CN").bad for e in row.errors]
    assert len(messages) >= 14
    untranslated = [m for m in messages if in_chinese(m) == m]
    assert untranslated == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"PK\x03\x04rest-of-a-zip",
        b"\xff\xfe\x00n",
        b"\xef\xbb\xbfname,phone,community\n\xff\xfe,1,2\n",
        b"name,phone,community\n\x00\x01,2,3\n",
        b'name,phone,community\n"unclosed,1,2\n',
        b"name,phone,phone,community\n",
        b"name;phone;community\n",
    ],
)
def test_every_file_error_reads_in_chinese(data: bytes) -> None:
    with pytest.raises(ImportFileError) as refused:
        parse_csv(data, "CN", "zh-CN")
    assert in_chinese(str(refused.value)) != str(refused.value), str(refused.value)
