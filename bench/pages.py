"""Benchmark the main pages on PostgreSQL at scale, served by gunicorn, measured with wrk.

    .venv/bin/python bench/pages.py                 # 2,000 / 100,000 / 20,000, 4 workers
    .venv/bin/python bench/pages.py --reuse         # keep the data set of an earlier run
    .venv/bin/python bench/pages.py --reuse --python /usr/bin/python3   # serve as deployed
    .venv/bin/python bench/pages.py --organisations 200 --contacts 5000 --events 1000 --seconds 3

Creates (or reuses) the database `vertskap_bench` on the server, fills it with
`flask crm bench-data`, adds the trigram indexes, starts gunicorn with `wsgi:app` plus a bare
`/bench/hello` route (the ceiling: the same server doing no work), logs in, and for each page
runs wrk with one connection, then with 20 at once, then with 20 users who pause about a
second between clicks (`--pause-ms`), printing p50/p95/p99 latency, requests/s and errors as
a Markdown table; its targets column judges the 20 users at once. The table's heading names
the server's Python and a speed reference (a fixed piece of Python, timed), by which runs on
different days compare. Needs wrk (`apt-get install -y wrk`). About 6 minutes on this 2-core
machine when the data set exists, 7 when it is generated (and one more to make `.venv-bench`
for `--python`).
"""

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scale.http import Browser  # noqa: E402

BENCH_EMAIL = "bench@vertskap.example"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 (a throwaway database)
TARGET_SINGLE_P95_MS = 100
TARGET_CONCURRENT_P95_MS = 300

# Prints one JSON line with the figures wrk measured (its --latency shows no p95).
WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'JSON {"p50": %f, "p95": %f, "p99": %f, "requests": %d, "seconds": %f, "errors": %d}\\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.duration / 1e6, errors))
end
"""

# The same app as production plus the ceiling route, for gunicorn (`bench.pages:app`).
APP_MODULE = """
from wsgi import app

@app.route("/bench/hello")
def bench_hello():
    return "hello"
"""

# Indexes the migration adds on PostgreSQL (see docs/benchmarks.md); created here by hand
# so that the benchmark measures the intended schema whatever the migrations say today.
INDEXES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_contact_search_text_trgm "
    "ON contact USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_text_trgm "
    "ON organisation USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_event_search_text_trgm "
    "ON event USING gin (search_text gin_trgm_ops)",
    # The contact list's order: page 1 of 100,000 contacts without sorting them all.
    "CREATE INDEX IF NOT EXISTS ix_contact_name_order ON contact (last_name, first_name, id)",
    # The contact page's duplicate check: addresses by index, other addresses of the few.
    "CREATE INDEX IF NOT EXISTS ix_contact_email_lower ON contact (lower(email))",
    "CREATE INDEX IF NOT EXISTS ix_contact_other_emails ON contact (id) WHERE other_emails <> ''",
]


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sql(url: str, *statements: str, autocommit: bool = False) -> list:
    """Run statements on a database; the last one's rows."""
    import sqlalchemy as sa

    from config import database_url

    engine = sa.create_engine(
        database_url(url), isolation_level="AUTOCOMMIT" if autocommit else None
    )
    rows: list = []
    with engine.begin() as conn:
        for statement in statements:
            result = conn.execute(sa.text(statement))
            rows = list(result) if result.returns_rows else []
    engine.dispose()
    return rows


def prepare(args, env: dict) -> dict:
    """Create or reuse the data set; return the ids the page URLs need."""
    from sqlalchemy.engine import make_url

    from config import database_url

    server = make_url(database_url(args.server))
    url = server.set(database=args.database).render_as_string(hide_password=False)
    exists = sql(
        server.set(database="postgres").render_as_string(hide_password=False),
        f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'",
    )
    if exists and not args.reuse:
        sql(
            server.set(database="postgres").render_as_string(hide_password=False),
            f'DROP DATABASE "{args.database}" WITH (FORCE)',
            autocommit=True,
        )
        exists = False
    env["DATABASE_URL"] = url
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    if not exists:
        sql(
            server.set(database="postgres").render_as_string(hide_password=False),
            f'CREATE DATABASE "{args.database}"',
            autocommit=True,
        )
        # The models' schema (create_all) rather than `db upgrade`: the benchmark measures the
        # code as it is, also while a migration for it is still being written.
        create = "from wsgi import app\nfrom crm.extensions import db\nwith app.app_context():\n"
        create += "    db.create_all()\n"
        subprocess.run([sys.executable, "-c", create], cwd=ROOT, env=env, check=True)
        started = time.perf_counter()
        subprocess.run(
            [*flask, "crm", "bench-data", "--organisations", str(args.organisations),
             "--contacts", str(args.contacts), "--events", str(args.events), "--seed", "1"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        print(f"# bench-data took {time.perf_counter() - started:.0f} s", flush=True)
    # Fails harmlessly when the user exists (a reused data set).
    subprocess.run(
        [*flask, "crm", "create-user", "--email", BENCH_EMAIL,
         "--password", BENCH_PASSWORD, "--role", "admin"],
        cwd=ROOT, env=env, check=False, capture_output=True,
    )  # fmt: skip
    if not args.no_indexes:
        sql(url, *INDEXES)
    # The SSD setting docs/deploy.md recommends (the default 4.0 models spinning disks and
    # makes the planner prefer hash joins over a few hundred primary-key lookups).
    sql(url, f'ALTER DATABASE "{args.database}" SET random_page_cost = {args.random_page_cost}')
    # What autovacuum does on a production server after a bulk load (this machine's
    # PostgreSQL runs without it): statistics, and the visibility map index-only scans need.
    sql(url, "VACUUM (ANALYZE)", autocommit=True)
    return {"url": url, **page_ids(lambda statement: sql(url, statement))}


# The records the page rows show: the organisation with nearest 500 events, the event with the
# longest programme, the contact with the most events and memberships.
ID_QUERIES = {
    "org": "SELECT organisation_id, count(*) FROM participation "
    "WHERE organisation_id IS NOT NULL "
    "GROUP BY organisation_id ORDER BY abs(count(*) - 500) LIMIT 1",
    "event": "SELECT e.id FROM event e JOIN programme_item p ON p.event_id = e.id "
    "WHERE e.deleted_at IS NULL GROUP BY e.id ORDER BY count(*) DESC, e.id LIMIT 1",
    "contact": "SELECT c.id FROM contact c "
    "LEFT JOIN (SELECT contact_id, count(*) AS n FROM participation GROUP BY contact_id) p "
    "ON p.contact_id = c.id "
    "LEFT JOIN (SELECT contact_id, count(*) AS n FROM membership GROUP BY contact_id) m "
    "ON m.contact_id = c.id "
    "ORDER BY coalesce(p.n, 0) + coalesce(m.n, 0) DESC, c.id LIMIT 1",
}


def page_ids(run) -> dict:
    """The ids `pages()` needs; `run(statement)` returns a statement's rows."""
    org_id, org_events = run(ID_QUERIES["org"])[0]
    return {
        "org_id": org_id,
        "org_events": org_events,
        "event_id": run(ID_QUERIES["event"])[0][0],
        "contact_id": run(ID_QUERIES["contact"])[0][0],
    }


def in_process(database: str, paths: list[str]) -> tuple:
    """The app on `database`, a test client logged in as the bench user, and the pages to
    request: `paths`, else this benchmark's pages (less the ceiling, the health check and the
    304 feed). For the in-process measures, `bench/page_cpu.py` and `bench/page_calls.py`.
    """
    os.environ.update(DATABASE_URL=database, VERTSKAP_ENV="development")
    os.environ.setdefault("SECRET_KEY", "bench-secret-" + "x" * 32)
    from sqlalchemy import text

    from crm.extensions import db
    from wsgi import app

    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login = client.post("/login", data={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
    if login.status_code != 302:
        raise SystemExit("login failed: run bench/pages.py first (it creates the user)")
    if not paths:
        with app.app_context():
            ids = page_ids(lambda statement: db.session.execute(text(statement)).all())
        paths = [
            path
            for name, path, extra in pages(ids, dt.date.today(), "")
            if not extra and not name.startswith(("hello", "healthz"))
        ]
    return app, client, paths


# A fixed piece of pure Python, timed in the server's interpreter before and after each run:
# the same code took from about 0.25 to 0.5 s on this VM within one hour, and the pages'
# figures move with it. It is printed beside them, so that runs can be compared.
SPEED_REFERENCE = """
import sys, time
started = time.perf_counter()
total = 0
for i in range(3_000_000):
    total += i % 7
print(round((time.perf_counter() - started) * 1000), sys.version.split()[0])
"""


def server_bin(python: str | None) -> Path:
    """The bin directory whose gunicorn serves the pages: this interpreter's, or that of a
    virtualenv `.venv-bench` made for `python` (made again when the interpreter or
    requirements.txt changed)."""
    if python is None:
        return Path(sys.executable).parent
    if shutil.which(python) is None:
        raise SystemExit(f"--python {python}: no such interpreter")
    venv = ROOT / ".venv-bench"
    stamp = venv / "vertskap-bench.json"
    wanted = {
        "python": os.path.realpath(shutil.which(python) or python),
        "requirements": (ROOT / "requirements.txt").read_text(),
    }
    if not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        print(f"# making {venv} with {wanted['python']}", flush=True)
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-r", str(ROOT / "requirements.txt")],
            check=True,
        )
        stamp.write_text(json.dumps(wanted))
    return venv / "bin"


def speed_reference(python: str) -> tuple[int, str]:
    """Milliseconds `python` takes for SPEED_REFERENCE (the median of three), and its version."""
    runs = [
        subprocess.run(
            [python, "-c", SPEED_REFERENCE], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(3)
    ]
    return int(statistics.median(int(run[0]) for run in runs)), runs[0][1]


def start_gunicorn(
    env: dict, workers: int, workdir: Path, bindir: Path
) -> tuple[subprocess.Popen, int]:
    """gunicorn serving the app (plus /bench/hello) on a free port."""
    (workdir / "bench_app.py").write_text(APP_MODULE)
    port = free_port()
    log = (workdir / "gunicorn.log").open("w")
    env = {**env, "PYTHONPATH": f"{ROOT}:{workdir}"}
    process = subprocess.Popen(
        [str(bindir / "gunicorn"), "--config", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--access-logfile", "/dev/null", "--max-requests", "0", "bench_app:app"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if Browser().get(port, "/healthz").status == 200:
                return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")


def wrk(port: int, path: str, headers: dict, connections: int, seconds: int, script: Path):
    """Run wrk against one URL; its figures as a dict (latencies in ms)."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections),
               "-d", f"{seconds}s", "--timeout", "10s", "-s", str(script)]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"^JSON (.*)$", out, re.MULTILINE)
    figures = json.loads(match.group(1))
    figures["rps"] = figures["requests"] / figures["seconds"]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["errors"] += int(non2xx.group(1)) if non2xx else 0
    return figures


def pausing_users(
    port: int, path: str, headers: dict, users: int, seconds: int, pause_ms: int
) -> dict:
    """`users` people requesting a page, each pausing between pause_ms / 2 and 3 * pause_ms / 2
    before every click, for about `seconds`; the figures as `wrk` gives them (latencies None
    when fewer than two requests were answered).

    Each request opens its own connection after the pause and sends the whole request; its
    latency runs from opening the connection to the end of the response. wrk cannot measure
    this: it pauses after connecting, which keeps a sync worker waiting for the request, where
    nginx in front of gunicorn passes a request on only once it is whole. A request that fails,
    is cut short, answers 4xx/5xx or takes over 10 s (wrk's --timeout here) is an error.
    """
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    request = "\r\n".join([*lines, *(f"{k}: {v}" for k, v in headers.items()), "", ""]).encode()
    pauses = random.Random(1)
    latencies: list[float] = []
    errors = 0

    async def click() -> int:
        """One request on a new connection; its status (ValueError when cut short)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            response = await reader.read()  # to the end: the server closes
        finally:
            writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
        if length and int(length.group(1)) != len(body):
            raise ValueError("the response was cut short")
        return int(head.split(b" ", 2)[1])

    async def user(deadline: float) -> None:
        nonlocal errors
        while True:
            pause = pauses.uniform(pause_ms / 2, pause_ms * 3 / 2) / 1000
            if time.perf_counter() + pause >= deadline:
                return
            await asyncio.sleep(pause)
            started = time.perf_counter()
            try:
                async with asyncio.timeout(10):
                    status = await click()
            except (OSError, ValueError, IndexError, TimeoutError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status >= 400

    async def everyone() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(user(deadline) for _ in range(users)))

    started = time.perf_counter()
    # An event loop of its own, in a thread of its own: the caller may be running one already
    # (the test suite, while Playwright's synchronous API is in use).
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, everyone()).result()
    elapsed = time.perf_counter() - started
    cuts = None
    if len(latencies) > 1:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50": cuts[49] if cuts else None,
        "p95": cuts[94] if cuts else None,
        "p99": cuts[98] if cuts else None,
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": errors,
        "rps": len(latencies) / elapsed,
    }


def pausing_seconds(args) -> int:
    """How long the pausing users run: longer than wrk, as at about a click a second each
    they send fewer requests (some 240 in 12 s, enough for a p95)."""
    return args.seconds + 4


def pages(ids: dict, anchor: dt.date, etag: str) -> list[tuple[str, str, dict]]:
    """(name, path, extra headers) of every measured page."""
    # What /calendar asks for a month: the six weeks of its grid (Monday to Monday), slim items.
    month = anchor.replace(day=1)
    grid_start = month - dt.timedelta(days=month.weekday())
    grid_end = grid_start + dt.timedelta(days=42)
    year_ago = anchor - dt.timedelta(days=365)
    return [
        ("hello (ceiling)", "/bench/hello", {}),
        ("healthz", "/healthz", {}),
        ("contact search", "/contacts/?q=" + quote("ødegård"), {}),
        ("contact search, rare", "/contacts/?q=" + quote("emily.sæther"), {}),
        ("contact list", "/contacts/", {}),
        (
            "event list, filtered",
            f"/events/?from={year_ago}&to={anchor}&kind=delegation&country=SE",
            {},
        ),
        (f"organisation, {ids['org_events']} events", f"/organisations/{ids['org_id']}", {}),
        (
            "calendar JSON, a month",
            f"/api/events?start={grid_start}&end={grid_end}&view=calendar&per_page=1000",
            {},
        ),
        ("event page", f"/events/{ids['event_id']}", {}),
        ("contact page", f"/contacts/{ids['contact_id']}", {}),
        ("dashboard (/)", "/", {}),
        ("feed 304", "/calendars/public.ics", {"If-None-Match": etag}),
    ]


def main() -> int:
    """Prepare, serve, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="vertskap_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an existing data set")
    parser.add_argument("--organisations", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8, help="per page and load level")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=1000,
        help="also measure the users pausing about this long between clicks (0: do not)",
    )
    parser.add_argument("--no-indexes", action="store_true", help="measure without trigrams")
    parser.add_argument("--random-page-cost", type=float, default=1.1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", help="measure only the pages whose name contains this")
    parser.add_argument(
        "--python",
        help="serve with this interpreter (in a virtualenv .venv-bench made for it), e.g. the "
        "distribution's /usr/bin/python3 that docs/deploy.md installs with",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    started = time.perf_counter()
    print(f"# load average before: {os.getloadavg()}", flush=True)
    env = {**os.environ, "VERTSKAP_ENV": "development", "WEB_CONCURRENCY": str(args.workers)}
    env["SECRET_KEY"] = "bench-secret-" + "x" * 32
    bindir = server_bin(args.python)
    python = str(bindir / "python") if args.python else sys.executable
    ids = prepare(args, env)
    speed, version = speed_reference(python)
    print(f"# server: Python {version} in {bindir}; speed reference {speed} ms", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="vertskap-bench-"))
    server, port = start_gunicorn(env, args.workers, workdir, bindir)
    results = []
    try:
        browser = Browser()
        login = browser.login(port, BENCH_EMAIL, BENCH_PASSWORD)
        if login.status != 302:
            raise SystemExit(f"login failed: {login.status}")
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        feed = Browser().get(port, "/calendars/public.ics")
        script = workdir / "report.lua"
        script.write_text(WRK_REPORT)
        anchor = dt.date.today()
        for name, path, extra in pages(ids, anchor, feed.headers.get("ETag", "")):
            if args.only and args.only not in name:
                continue
            check = Browser()
            check.cookies = dict(browser.cookies)
            status = check.request(port, "GET", path, headers=extra).status
            headers = {"Cookie": cookie, **extra}
            wrk(port, path, headers, 1, 1, script)  # warm-up
            one = wrk(port, path, headers, 1, args.seconds, script)
            many = wrk(port, path, headers, args.concurrency, args.seconds, script)
            result = {"page": name, "path": path, "status": status, "one": one, "many": many}
            if args.pause_ms:
                result["pausing"] = pausing_users(
                    port, path, headers, args.concurrency, pausing_seconds(args), args.pause_ms
                )
            results.append(result)
            print(f"# {name}: {status} p95 {one['p95']:.1f} / {many['p95']:.1f} ms", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    shutil.rmtree(workdir)  # kept when the run failed: its gunicorn.log says why
    # Again after the run: the machine's speed may have changed meanwhile.
    machine = {"python": version, "speed_reference_ms": [speed, speed_reference(python)[0]]}
    print_table(results, args, machine, time.perf_counter() - started)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "pages": results}, indent=2))
    return 0


def print_table(results: list, args, machine: dict, elapsed: float) -> None:
    """The figures as the Markdown table in docs/benchmarks.md."""
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    before, after = machine["speed_reference_ms"]
    print(
        f"{args.organisations:,} organisations, {args.contacts:,} contacts, {args.events:,} "
        f"events; gunicorn {args.workers} sync workers on Python {machine['python']} "
        f"(speed reference {before} ms before the run, {after} after); wrk {args.seconds} s "
        f"per row, the pausing users {pausing_seconds(args)} s; {dt.date.today()}; "
        f"run took {elapsed / 60:.1f} min; load average at the end {load}"
    )
    print()
    pausing = f" | {args.concurrency} pausing p50 | p95 | req/s | errors" if args.pause_ms else ""
    print(
        "| page | status | 1 user p50 | 1 user p95 | 1 user req/s "
        f"| {args.concurrency} users p50 | p95 | p99 | req/s | errors{pausing} | targets |"
    )
    print("|---|---|" + "---:|" * (12 if args.pause_ms else 8) + "---|")
    for r in results:
        one, many = r["one"], r["many"]
        ok = (
            one["p95"] < TARGET_SINGLE_P95_MS
            and many["p95"] < TARGET_CONCURRENT_P95_MS
            and many["errors"] == 0
        )
        cells = [
            r["page"], r["status"], f"{one['p50']:.1f}", f"{one['p95']:.1f}", f"{one['rps']:.0f}",
            f"{many['p50']:.1f}", f"{many['p95']:.1f}", f"{many['p99']:.1f}",
            f"{many['rps']:.0f}", many["errors"],
        ]  # fmt: skip
        if "pausing" in r:
            slow = r["pausing"]
            cells += ["–" if slow[q] is None else f"{slow[q]:.1f}" for q in ("p50", "p95")]
            cells += [f"{slow['rps']:.0f}", slow["errors"]]
        cells.append("met" if ok else "**missed**")
        print("| " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
