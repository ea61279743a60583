"""``pingan staff passwd`` and ``pingan staff token``: accounts for the dashboard and the API."""

from __future__ import annotations

from click.testing import CliRunner

from ivr.cli import Pingan, cli
from tests.dashboard.pages import login, staff_row


def run(app, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), obj=Pingan(app=app), input=stdin)


def test_passwd_sets_a_password_the_dashboard_accepts(app, people) -> None:
    result = run(app, "staff", "passwd", "139 0371 0012", "--password", "fresh-password-1")
    assert result.exit_code == 0 and "password set for staff" in result.output
    assert staff_row(app, people.staff_b).password_hash.startswith("scrypt:")
    assert login(app.test_client(), people.staff_b, "fresh-password-1").status_code == 302


def test_passwd_asks_twice_when_no_password_is_given(app, people) -> None:
    result = run(app, "staff", "passwd", "钱建军", stdin="typed-pass-22\ntyped-pass-22\n")
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), people.staff_b, "typed-pass-22").status_code == 302
    mismatch = run(app, "staff", "passwd", "钱建军", stdin="one-password\nother-password\n")
    assert mismatch.exit_code != 0


def test_passwd_refuses_a_short_password_or_unknown_staff(app, people) -> None:
    short = run(app, "staff", "passwd", people.staff_b, "--password", "short")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    unknown = run(app, "staff", "passwd", "13900000000", "--password", "long-enough-1")
    assert unknown.exit_code == 1 and "no active staff member" in unknown.output


def test_token_prints_the_token_on_stdout_only(app, people) -> None:
    result = run(app, "staff", "token", people.supervisor)
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("pgn_") and "not shown again" in result.stderr
