"""``pingan health`` and ``/healthz``: is the scheduler doing its jobs, and can calls be made?"""

from __future__ import annotations

from click.testing import CliRunner

from ivr import create_app
from ivr.cli import Pingan, cli
from ivr.worker.jobs import Jobs
from ivr.worker.scheduler import JOBS


def health(app) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["health"], obj=Pingan(app=app))
    return result.exit_code, result.output


def run_every_job(jobs: Jobs) -> None:
    for name in ("heartbeat", *JOBS, "heartbeat"):
        jobs.run(name)


def test_without_a_worker_health_warns_that_nobody_will_be_called(app) -> None:
    code, output = health(app)
    assert code == 1
    assert "status    warning" in output
    assert "scheduler no worker running" in output
    assert app.test_client().get("/healthz").status_code == 200  # the webhooks still work


def test_a_worker_whose_jobs_all_ran_recently_is_healthy(app, server, clock) -> None:
    run_every_job(Jobs(app, worker="host-1"))
    clock.advance(3)
    code, output = health(app)
    assert code == 0, output
    assert "scheduler ok (1 worker; last dial 3 s ago)" in output
    report = app.test_client().get("/healthz").get_json()
    assert report["jobs"]["dial"] == 3.0 and report["workers"] == ["host-1"]


def test_a_worker_that_beats_but_no_longer_dials_is_reported_stale(app, server, clock) -> None:
    jobs = Jobs(app, worker="host-1")
    run_every_job(jobs)
    for _ in range(20):  # ten minutes of heartbeats, while every other job is stuck
        clock.advance(30)
        jobs.run("heartbeat")
    code, output = health(app)
    assert code == 1
    assert "scheduler stale (1 worker): start_rounds 10 min ago, dial 10 min ago" in output


def test_a_stopped_worker_drops_out_of_the_report(app, server, clock) -> None:
    run_every_job(Jobs(app, worker="host-1"))
    clock.advance(minutes=5)  # no heartbeat since: the process is gone
    code, output = health(app)
    assert code == 1 and "no worker running" in output


def test_an_unreachable_database_is_an_error_for_monitoring_and_the_load_balancer(
    tmp_path,
) -> None:
    app = create_app(
        {
            # Nothing listens on port 1: connecting fails at once.
            "database_url": "postgresql+psycopg://pingan@127.0.0.1:1/pingan",
            "instance_path": str(tmp_path),
            "carrier": "simulator",
            "twilio_auth_token": "health-test",
        },
        environ={},
    )
    code, output = health(app)
    assert code == 1
    assert "status    error" in output and "database  unreachable (OperationalError)" in output
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable (OperationalError)"
