"""A community with no one on duty still has its alerts read by a person, at once, and says so.

No staff on duty used to mean no text at all (a warning in the server log only), ``pingan
health`` said ok, and the supervisors heard of a high fever an hour later with the first SLA
reminder. Now the first alert goes at once to the supervisors, else to the community's duty
phone, else to ``PINGAN_DUTY_PHONE``; the escalation page and ``pingan health`` say "no one on
duty", and ``pingan staff duty`` warns about a community left uncovered.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr.cli import Pingan, cli
from ivr.db import session_scope
from ivr.domain.staff import find_staff, remove_staff
from ivr.worker.jobs import Jobs
from tests.dashboard.pages import person, signed_in, text
from tests.helpers import add_community, add_resident
from tests.ivr.alerting import notifications, open_escalation, staff_member, texts_to
from tests.ivr.test_health import run_every_job

BOSS = "+8613903710099"
GRANDMA = "+8613803710103"
DUTY_PHONE = "+8637167880000"
HOTLINE_OF_THE_CITY = "+8637167889999"


def run(app, *args: str):
    return CliRunner().invoke(cli, list(args), obj=Pingan(app=app))


def test_a_high_fever_in_a_community_without_staff_texts_the_supervisor_at_once(
    app, carrier
) -> None:
    staff_member(app, "周主任", BOSS, community=None, role="supervisor")
    resident = add_resident(app, "张桂兰", GRANDMA)
    open_escalation(app, resident, reason="fever", severity="high", temperature="37.9")
    assert Jobs(app, worker="w").send_alerts() == 1  # now, not after the 60-min SLA
    (text_,) = texts_to(carrier, BOSS)
    assert text_.startswith("【平安】重要：中原社区 张桂兰")
    assert [n.kind for n in notifications(app)] == ["opened"]


def test_without_staff_or_supervisors_the_communitys_duty_phone_is_texted(app, carrier) -> None:
    add_community(app, "中原社区", duty_phone=DUTY_PHONE)
    open_escalation(app, add_resident(app, "张桂兰", GRANDMA))
    Jobs(app, worker="w").send_alerts()
    assert len(texts_to(carrier, DUTY_PHONE)) == 1


@pytest.mark.parametrize("settings_overrides", [{"duty_phone": HOTLINE_OF_THE_CITY}])
def test_then_the_deployments_duty_phone(app, carrier) -> None:
    open_escalation(app, add_resident(app, "张桂兰", GRANDMA))
    Jobs(app, worker="w").send_alerts()
    assert len(texts_to(carrier, HOTLINE_OF_THE_CITY)) == 1


def test_a_community_with_staff_on_duty_does_not_text_the_supervisor_first(app, carrier) -> None:
    staff_member(app, "赵红梅", "+8613903710011")
    staff_member(app, "周主任", BOSS, community=None, role="supervisor")
    open_escalation(app, add_resident(app, "张桂兰", GRANDMA))
    Jobs(app, worker="w").send_alerts()
    assert texts_to(carrier, BOSS) == []


def test_health_says_no_one_is_on_duty(app, server, clock) -> None:
    add_resident(app, "张桂兰", GRANDMA)
    staff_member(app, "孙丽", "+8613903710021", community="康桥华城社区")
    add_resident(app, "李四", "+8613803710104", community="康桥华城社区")
    run_every_job(Jobs(app, worker="host-1"))
    result = run(app, "health")
    assert result.exit_code == 1, result.output
    assert "status    warning" in result.output
    assert "on duty   no one on duty: 中原社区" in result.output
    report = app.test_client().get("/healthz").get_json()
    assert report["status"] == "warning" and report["no_one_on_duty"] == ["中原社区"]


def test_health_is_ok_again_once_someone_is_on_duty(app, server, clock) -> None:
    add_resident(app, "张桂兰", GRANDMA)
    staff_member(app, "赵红梅", "+8613903710011")
    run_every_job(Jobs(app, worker="host-1"))
    result = run(app, "health")
    assert result.exit_code == 0, result.output
    assert "on duty   ok" in result.output


def test_the_escalation_page_says_no_one_is_on_duty_in_the_dashboards_language(app) -> None:
    add_resident(app, "张桂兰", GRANDMA)
    person(app, "周主任", BOSS, None, "supervisor")
    client = signed_in(app, "13903710099")
    page = text(client.get("/escalations"))
    assert "无人值班" in page and "中原社区" in page
    english = text(client.get("/escalations?lang=en"))
    assert "No one on duty" in english and "中原社区" in english


def test_the_escalation_page_of_a_covered_community_has_no_banner(app) -> None:
    add_resident(app, "张桂兰", GRANDMA)
    community = add_community(app, "中原社区")
    person(app, "赵红梅", "+8613903710011", community, "staff")
    client = signed_in(app, "13903710011")
    assert "无人值班" not in text(client.get("/escalations"))


def test_staff_duty_warns_about_a_community_left_without_anyone(app) -> None:
    add_resident(app, "张桂兰", GRANDMA)
    staff_member(app, "赵红梅", "+8613903710011")
    assert "no one on duty" not in run(app, "staff", "duty").output
    with session_scope(app) as session:
        found = find_staff(session, "赵红梅")
        assert found is not None
        remove_staff(session, found, app.extensions["pingan.clock"].now(), "test")
    result = run(app, "staff", "duty")
    assert result.exit_code == 0
    assert "warning: 中原社区 has no one on duty" in result.stderr


def test_staff_duty_warns_about_hours_the_roster_leaves_uncovered(app) -> None:
    add_resident(app, "张桂兰", GRANDMA)
    staff_member(app, "赵红梅", "+8613903710011")
    result = run(app, "staff", "duty", "add", "赵红梅", "--from", "08:00", "--to", "20:00")
    assert result.exit_code == 0, result.output
    assert "warning: 中原社区: no shift covers 00:00-08:00, 20:00-24:00 every day" in result.stderr
    run(app, "staff", "duty", "add", "赵红梅", "--from", "20:00", "--to", "24:00")
    full = run(app, "staff", "duty", "add", "赵红梅", "--from", "00:00", "--to", "08:00")
    assert full.exit_code == 0 and "warning" not in full.stderr
