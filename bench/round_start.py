"""Benchmark: starting a round for 100,000 residents (creating their pending check-ins).

Target (issues 3 and 13): under 5 s on SQLite and on PostgreSQL, with the residents in
households sharing phones (100,000 residents in 60,000 households by default).
Run: .venv/bin/python -m bench.round_start [--residents 100000] [--households 60000]
[--db sqlite,postgresql]
"""

from __future__ import annotations

import argparse

from sqlalchemy import func, select

from bench.common import NOW, fresh_database, load_residents, print_table, timed
from ivr.config import load_settings
from ivr.domain.rounds import start_round
from storage import CheckIn, Community, make_engine, make_sessionmaker


def run(kind: str, residents: int, households: int) -> list[object]:
    url = fresh_database(kind, "pingan_bench_round")
    engine = make_engine(url)
    load_residents(engine, residents, households=households)
    settings = load_settings({}, {"database_url": url})
    sessions = make_sessionmaker(engine)
    with timed() as took, sessions.begin() as session:
        community = session.scalars(select(Community)).one()
        started = start_round(session, community, "09:00", NOW, settings, NOW, slot_index=0)
    with sessions.begin() as session:
        created = session.scalar(select(func.count()).select_from(CheckIn))
    engine.dispose()
    assert started is not None and created == residents
    return [
        kind,
        residents,
        households,
        f"{took['wall_s']:.2f}",
        f"{took['cpu_s']:.2f}",
        "yes" if took["wall_s"] < 5 else "NO",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=60_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = [run(kind, args.residents, args.households) for kind in args.db.split(",")]
    print_table(
        "Starting a round (one community, all residents monitored)",
        ["database", "residents", "households", "wall s", "cpu s", "under 5 s"],
        rows,
    )


if __name__ == "__main__":
    main()
