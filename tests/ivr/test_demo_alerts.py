"""``pingan demo`` shows the staff SMS for urgent and high cases and the orders from needs."""

from __future__ import annotations

import pytest

from ivr import carrier_of
from ivr.demo.run import demo_app, load_sample_district, run_round
from ivr.demo.summary import summary
from ivr.web.server import webhooks_reachable


@pytest.mark.slow
def test_the_demo_texts_staff_and_opens_orders(tmp_path) -> None:
    app = demo_app(tmp_path)
    try:
        load_sample_district(app)
        with webhooks_reachable(app):
            seconds = run_round(app)
        text = summary(app, seconds)
    finally:
        carrier_of(app).close()  # type: ignore[attr-defined]
    # 张桂兰's and David Miller's fever with symptoms are one text each (one reading, one text)
    assert "发给值班工作人员的短信（9 条）：" in text
    assert "【平安】紧急：中原社区 张桂兰，高热、有症状，体温 39.2℃" in text
    assert "【平安】紧急：康桥华城社区 马秀兰，联系不上" in text
    assert "服务订单（6 个）：" in text  # the five asked for, and yesterday's delivered one
    orders = text.split("服务订单")[1]
    for need in ("代买生活物资", "代购药品", "口罩消毒用品", "垃圾清运"):  # the dashboard's words
        assert need in orders
    news = text.split("电话中的播报")[1]  # 王秀英 hears the notice and her delivered groceries
    assert "王秀英  社区通知    明天上午八点到十一点在小区东门做核酸检测" in news
    assert "王秀英  订单已送达  买菜" in news
