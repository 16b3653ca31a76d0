"""CPU per request of a page, split into Python and PostgreSQL, independent of other load.

    .venv/bin/python bench/page_cpu.py                          # the pages of bench/pages.py
    .venv/bin/python bench/page_cpu.py /organisations/1 /events/1 -n 50

Runs against the data set `bench/pages.py` leaves in `vertskap_bench` (run that first, or
pass --database), through the app's test client as the benchmark user. Python time is this
process's CPU time (`time.process_time`); PostgreSQL time is the CPU its backends used, read
from /proc, so the figures hold on a busy machine where wall times do not. On 2 cores, a page
whose two figures add up to t ms serves at most about 2000 / t requests a second.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import in_process  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def backend_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


# This database's backends, the one answering included (the test client reuses it).
BACKENDS = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="pages to measure (default: bench/pages.py's)")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/vertskap_bench")
    parser.add_argument("-n", type=int, default=40, help="requests per page")
    args = parser.parse_args()
    app, client, paths = in_process(args.database, args.paths)
    from crm.extensions import db

    print("| page | Python ms | PostgreSQL ms | bytes |\n|---|---:|---:|---:|")
    for path in paths:
        for _ in range(5):  # warm-up: caches, prepared statements, pooled connections
            client.get(path)
        with app.app_context():  # the backends serving this client, now that it has them
            backends = db.session.scalars(BACKENDS).all()
        pg_before, py_before = backend_seconds(backends), time.process_time()
        for _ in range(args.n):
            response = client.get(path)
        python = (time.process_time() - py_before) / args.n * 1000
        postgres = (backend_seconds(backends) - pg_before) / args.n * 1000
        print(f"| `{path}` | {python:.1f} | {postgres:.1f} | {len(response.data):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
