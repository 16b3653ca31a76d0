"""Function calls and queries per request of a page: a measure of work that the machine's mood
does not change.

    .venv/bin/python bench/page_calls.py                          # the pages of bench/pages.py
    .venv/bin/python bench/page_calls.py /organisations/1 /events/1

Wall-clock and even CPU figures on a shared 2-core VM swing 10–40 % from one minute to the
next, too much to see a 3 % change. The number of Python and C function calls a request makes
(counted with `sys.setprofile`) is the same on every run, and tracks Python CPU time closely
enough to compare two versions of a page. Like `bench/page_cpu.py`, it runs against the data
set `bench/pages.py` leaves in `vertskap_bench`, through the app's test client.
"""

import argparse
import sys
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import in_process  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="pages to measure (default: bench/pages.py's)")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/vertskap_bench")
    args = parser.parse_args()
    app, client, paths = in_process(args.database, args.paths)
    from crm.extensions import db

    with app.app_context():
        engine = db.engine
    counts = {"call": 0, "c_call": 0, "query": 0}

    def count_call(frame, kind, arg):
        if kind in ("call", "c_call"):
            counts[kind] += 1

    @event.listens_for(engine, "before_cursor_execute")
    def count_query(*_):
        counts["query"] += 1

    print("| page | Python calls | C calls | queries | bytes |\n|---|---:|---:|---:|---:|")
    for path in paths:
        for _ in range(5):  # warm-up: caches, prepared statements, pooled connections
            client.get(path)
        counts.update(call=0, c_call=0, query=0)
        sys.setprofile(count_call)
        response = client.get(path)
        sys.setprofile(None)
        print(
            f"| `{path}` | {counts['call']:,} | {counts['c_call']:,} | {counts['query']} "
            f"| {len(response.data):,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
