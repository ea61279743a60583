"""Fixtures of the dashboard tests: the people of two communities (see ``pages.make_people``)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.dashboard.pages import FEVER, HEALTHY, SILENT, People, make_people
from tests.helpers import add_resident, call_round, script


@pytest.fixture
def people(app: Flask) -> People:
    return make_people(app)


@pytest.fixture
def round_done(app, people, jobs, carrier, clock) -> None:
    """李建国 (A) 37.8 °C and asks for groceries; 王秀英 (A) healthy; 杨志强 (B) never answers."""
    add_resident(app, "王秀英", HEALTHY, "中原社区", address="建设西路12号院3号楼2单元501")
    script(carrier, FEVER, "answer 1 378# 1 2 1 9")
    script(carrier, HEALTHY, "answer 1 365# 1 2 9")
    script(carrier, SILENT, "no-answer")
    call_round(app, jobs, carrier, clock)
