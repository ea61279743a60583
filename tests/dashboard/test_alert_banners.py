"""On a phone, the escalation page says at the top when alerts cannot reach the staff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from ivr.worker.jobs import Jobs
from tests.dashboard.browser import PHONE, fits, launch, log_in, open_page, shoot
from tests.dashboard.pages import person
from tests.helpers import add_resident
from tests.ivr.alerting import open_escalation

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def test_a_supervisor_sees_no_one_on_duty_and_alerts_failing_on_a_phone(
    app, server, carrier, clock, browser, db_kind
) -> None:
    add_resident(app, "张桂兰", "+8613803710103", "中原社区")  # a community nobody staffs
    person(app, "周主任", "+8613903710099", None, "supervisor")
    open_escalation(app, add_resident(app, "李建国", "+8613803710102", "中原社区"))
    carrier.sms_outage = 20503
    jobs = Jobs(app, worker="w")
    for _ in range(6):
        jobs.send_alerts()
        clock.advance(minutes=1)
    page, errors = open_page(browser, PHONE)
    log_in(page, server, "13903710099")
    banners = page.locator(".banner")
    assert banners.count() == 2
    assert "无人值班：中原社区" in banners.nth(0).inner_text()
    assert "预警发送失败：1 条预警" in banners.nth(1).inner_text()
    assert fits(page, PHONE) and errors == []
    shoot(page, "escalations-alerts-failing", PHONE, db_kind)
