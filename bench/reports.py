"""Time the report dashboard, a CSV export and the annual report PDF at scale.

    .venv/bin/python bench/reports.py                 # PostgreSQL, 2,000 / 100,000 / 20,000
    .venv/bin/python bench/reports.py --reuse         # keep the data set of an earlier run
    .venv/bin/python bench/reports.py --sqlite /tmp/reports.db --reuse

Creates (or reuses) the database `vertskap_bench_reports`, fills it with
`flask crm bench-data` (events spread over five years), then, in this process, requests each
report page through the app's test client as a logged-in admin `--repeat` times and prints
min/median/max as a Markdown table, with the number of SQL statements per request (which
must not grow with the data: the indicators are GROUP BY queries).
"""

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_EMAIL = "bench-reports@vertskap.example"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 (a throwaway database)


def prepare(args) -> str:
    """Create or reuse the data set; return its database URL."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from config import database_url

    if args.sqlite:
        path = Path(args.sqlite)
        exists = path.exists()
        if exists and not args.reuse:
            path.unlink()
            exists = False
        url = f"sqlite:///{path}"
    else:
        server = make_url(database_url(args.server))
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = bool(
                conn.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.database}
                )
            )
            if exists and not args.reuse:
                conn.execute(sa.text(f'DROP DATABASE "{args.database}" WITH (FORCE)'))
                exists = False
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{args.database}"'))
        admin.dispose()
        url = server.set(database=args.database).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url}
    if not exists:
        create = "from wsgi import app\nfrom crm.extensions import db\nwith app.app_context():\n"
        create += "    db.create_all()\n"
        subprocess.run([sys.executable, "-c", create], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "bench-data",
             "--organisations", str(args.organisations), "--contacts", str(args.contacts),
             "--events", str(args.events), "--seed", "1"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        print(f"# bench-data took {time.perf_counter() - started:.0f} s", flush=True)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "crm", "create-user", "--email",
         BENCH_EMAIL, "--password", BENCH_PASSWORD, "--role", "viewer"],
        cwd=ROOT, env=env, check=False, capture_output=True,
    )  # fmt: skip
    return url


def measure(url: str, repeat: int) -> list[tuple]:
    """(path, status, min, median, max seconds, statements) for each report request."""
    from sqlalchemy import event, func, select

    from crm import create_app
    from crm.events.models import Event
    from crm.extensions import db

    # config.py read DATABASE_URL at import (in prepare()): give the URL to the app directly.
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "LOGIN_MAX_FAILURES": 10_000}
    )
    with app.app_context():
        year = db.session.scalar(select(func.max(Event.starts_at))).year - 1
        counts = {
            "events": db.session.scalar(select(func.count()).select_from(Event)),
        }
    print(f"# {counts['events']:,} events; report year {year}", flush=True)
    client = app.test_client()
    response = client.post("/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    assert response.status_code == 302, "login failed"
    paths = [
        f"/reports/?from={year}-01-01&to={year}-12-31",
        f"/reports/?from={year - 3}-01-01&to={year}-12-31",
        f"/reports/delegations.csv?from={year}-01-01&to={year}-12-31",
        f"/reports/annual/{year}",
        f"/reports/annual/{year}.pdf",
    ]
    statements = []

    def count(*args):
        statements.append(1)

    results = []
    with app.app_context():
        engine = db.engine
    for path in paths:
        times = []
        for _ in range(repeat if not path.endswith(".pdf") else max(1, repeat // 2)):
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            event.remove(engine, "before_cursor_execute", count)
            assert response.status_code == 200, (path, response.status_code)
        results.append((path, min(times), statistics.median(times), max(times), len(statements)))
    return results


def main() -> int:
    """Prepare the data, measure, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="vertskap_bench_reports")
    parser.add_argument("--sqlite", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--reuse", action="store_true", help="keep an existing data set")
    parser.add_argument("--organisations", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    url = prepare(args)
    results = measure(url, args.repeat)
    kind = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"\n{kind}, {dt.date.today()}, {args.repeat} requests each (PDF: half as many)\n")
    print("| request | min (ms) | median (ms) | max (ms) | SQL statements |")
    print("|---|---:|---:|---:|---:|")
    for path, low, mid, high, n in results:
        print(f"| `{path}` | {low * 1000:.0f} | {mid * 1000:.0f} | {high * 1000:.0f} | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
