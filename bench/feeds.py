"""Benchmark the iCalendar feeds on a fresh database of 10,000 events, over real HTTP.

Prints: the cold build time of the feed over HTTP, the warm (200) time, the 304 time and
rate, a bare Flask "hello" rate on the same server, and the time `icalendar` alone needs to
serialise the same events, with the ratios the issue asks for (cold ≤ 1/10 of icalendar
alone; 304 at least half as fast as hello).

    .venv/bin/python bench/feeds.py                       # SQLite file in a temp dir
    .venv/bin/python bench/feeds.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Needs gunicorn (installed) and wrk (`apt-get install wrk`) for the request rates.
"""

import argparse
import datetime as dt
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OSLO = ZoneInfo("Europe/Oslo")


def make_app():
    """The app as gunicorn serves it, plus bare "hello" and "304" routes to compare with."""
    from flask import Response

    from config import config_from_env
    from crm import create_app

    app = create_app(config_from_env())

    @app.route("/bench/hello")
    def hello():
        return "hello"

    @app.route("/bench/bare304")
    def bare_304():
        # A 304 with no work behind it: what the protocol alone costs on this server.
        return Response(status=304)

    return app


def seed(url: str, count: int) -> float:
    """Create the schema, the public calendar and `count` public events; return seconds."""
    from config import TestConfig
    from crm import create_app
    from crm.calendars.services import ensure_default_calendars
    from crm.events.models import Event
    from crm.extensions import db
    from crm.tags import get_tags

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TestConfig.SECRET_KEY})
    with app.app_context(), app.test_request_context():
        db.create_all()
        ensure_default_calendars()
        tags = get_tags(["kultur", "næringsliv", "ntnu"])
        db.session.commit()
        start = time.perf_counter()
        base = dt.datetime(2026, 1, 5, 9, tzinfo=OSLO)
        for i in range(count):
            starts = base + dt.timedelta(hours=7 * i)
            event = Event(
                title=f"Besøk fra Göteborg nr. {i}: møte, lunsj; omvisning",
                kind="delegation",
                status="confirmed",
                visibility="public",
                timezone="Europe/Oslo",
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=2),
                venue="Rådhuset, Munkegata 1, Trondheim",
                description="Program: velkomst ved ordføreren, omvisning på Nidarosdomen\n"
                "og middag på Bakklandet. Kontakt vertskapskontoret for detaljer.",
                rrule="FREQ=WEEKLY;COUNT=4" if i % 50 == 0 else "",
            )
            if i % 3 == 0:
                event.tags = [tags[i % 3]]
            if i % 97 == 0:
                event.is_all_day = True
                event.start_on = event.end_on = starts.date()
                event.starts_at = dt.datetime.combine(starts.date(), dt.time(0), OSLO)
                event.ends_at = event.starts_at + dt.timedelta(days=1)
            db.session.add(event)
            if i % 1000 == 999:
                db.session.commit()
        db.session.commit()
        elapsed = time.perf_counter() - start
        db.engine.dispose()
    return elapsed


def icalendar_alone(url: str) -> tuple[float, int]:
    """Seconds `icalendar` needs to serialise every event into one calendar, and the bytes."""
    import icalendar
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from config import TestConfig
    from crm import create_app
    from crm.calendars import ical
    from crm.events.models import Event
    from crm.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TestConfig.SECRET_KEY})
    with app.app_context():
        events = db.session.scalars(select(Event).options(selectinload(Event.tags))).all()
        now = dt.datetime.now(dt.UTC)
        start = time.perf_counter()
        cal = icalendar.Calendar()
        cal.add("PRODID", ical.PRODID)
        cal.add("VERSION", "2.0")
        for event in events:
            component = icalendar.Event()
            component.add("UID", event.uid)
            component.add("DTSTAMP", now)
            component.add("SEQUENCE", event.sequence)
            if event.is_all_day:
                component.add("DTSTART", event.start_on)
                component.add("DTEND", event.end_on + dt.timedelta(days=1))
            else:
                component.add("DTSTART", event.starts_at.astimezone(event.zone))
                component.add("DTEND", event.ends_at.astimezone(event.zone))
            component.add("SUMMARY", event.title)
            component.add("DESCRIPTION", event.description)
            component.add("LOCATION", event.venue)
            if event.tags:
                component.add("CATEGORIES", [t.name for t in event.tags])
            component.add("STATUS", "CONFIRMED")
            if event.rrule:
                component.add("RRULE", icalendar.vRecur.from_ical(event.rrule))
            cal.add_component(component)
        body = cal.to_ical()
        elapsed = time.perf_counter() - start
        db.engine.dispose()
    return elapsed, len(body)


def touch_one_event(url: str, number: int) -> None:
    """Change one event, as a user would, so that the next request must build the feed again."""
    from sqlalchemy import select

    from config import TestConfig
    from crm import create_app
    from crm.events.models import Event
    from crm.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TestConfig.SECRET_KEY})
    with app.app_context():
        event = db.session.scalars(select(Event).order_by(Event.id).limit(1)).one()
        event.title = f"Besøk fra Göteborg (endret {number})"
        db.session.commit()
        db.engine.dispose()


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, int, float]:
    """One GET over a new connection: status, headers, body length, seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, dict(response.getheaders()), len(body), elapsed


def wrk(
    port: int, path: str, headers: dict | None = None, seconds: int = 5, connections: int = 16
) -> tuple[float, float]:
    """Requests per second and mean latency (ms) from wrk."""
    threads = min(2, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rate = latency = 0.0
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rate = float(parts[1])
        if parts[:1] == ["Latency"] and len(parts) > 1 and parts[1][:1].isdigit() and not latency:
            latency = _milliseconds(parts[1])
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rate, latency


def _milliseconds(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    """gunicorn with `workers` sync workers serving make_app() on the database."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            # Not the project's gunicorn.conf.py: its worker recycling and access log would
            # weigh on whichever route is being measured when they strike.
            "--config",
            os.devnull,
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench.feeds:make_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if get(port, "/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the server did not start")


def postgres_database(server_url: str):
    """Create a scratch PostgreSQL database; return its URL and a function that drops it."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from config import database_url

    url = make_url(database_url(server_url))
    name = f"vertskap_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per route")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    tmp = tempfile.mkdtemp(prefix="vertskap-bench-")
    drop = None
    if options.postgres:
        url, drop = postgres_database(options.postgres)
        kind = "PostgreSQL"
    else:
        url = f"sqlite:///{tmp}/bench.db"
        kind = "SQLite"
    server = None
    try:
        print(
            f"Database: {kind}; {options.events} public events; "
            f"gunicorn {options.workers} sync workers"
        )
        seconds = seed(url, options.events)
        print(f"Creating the events (each VEVENT serialised once, when saved): {seconds:.2f} s")
        alone, size = icalendar_alone(url)
        print(
            f"icalendar alone, {options.events} events into one calendar: "
            f"{alone * 1000:.0f} ms ({size / 1e6:.1f} MB)"
        )

        server = start_server(url, options.port, options.workers)
        path = "/calendars/public.ics"
        cold = []
        for number in range(5):
            touch_one_event(url, number)
            status, headers, length, elapsed = get(options.port, path)
            assert status == 200, status
            cold.append(elapsed)
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        # Each worker keeps its own copy: warm both before timing.
        warm = [get(options.port, path)[3] for _ in range(12)][4:]
        status, _h, _l, _e = get(options.port, path, {"If-None-Match": etag})
        assert status == 304, status
        not_modified = [get(options.port, path, {"If-None-Match": etag})[3] for _ in range(50)]
        ims = get(options.port, path, {"If-Modified-Since": last_modified})[0]
        assert ims == 304, ims

        hello_single = [get(options.port, "/bench/hello")[3] for _ in range(50)]
        # Alternate the routes and take medians: other load on the machine comes and goes.
        routes = {
            "304": (path, {"If-None-Match": etag}),
            "hello": ("/bench/hello", None),
            "bare304": ("/bench/bare304", None),
        }
        rate, latency = {}, {}
        for connections in (1, 16):
            runs = {name: [] for name in routes}
            for _ in range(options.rounds):
                for name, (route, headers) in routes.items():
                    runs[name].append(
                        wrk(options.port, route, headers, options.seconds, connections)
                    )
            for name, results in runs.items():
                rate[name, connections] = statistics.median(r[0] for r in results)
                latency[name, connections] = statistics.median(r[1] for r in results)
        cold_ms = statistics.median(cold) * 1000
        print(f"Feed size: {length / 1e6:.1f} MB")
        print(f"Cold feed over HTTP (median of 5, after a change): {cold_ms:.0f} ms")
        print(f"Warm feed (200) over HTTP (median of 8): {statistics.median(warm) * 1000:.1f} ms")
        print(
            "304 over HTTP, one request (median of 50): "
            f"{statistics.median(not_modified) * 1000:.2f} ms"
        )
        print(
            "hello over HTTP, one request (median of 50): "
            f"{statistics.median(hello_single) * 1000:.2f} ms"
        )
        print(f"Load average after the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        labels = (("304", "feed 304"), ("hello", "hello"), ("bare304", "bare 304"))
        for connections in (1, 16):
            for name, label in labels:
                key = (name, connections)
                print(
                    f"{label} with wrk, {connections} connection(s): {rate[key]:.0f} requests/s "
                    f"(mean latency {latency[key]:.2f} ms)"
                )
        print(f"Cold feed / icalendar alone: 1/{alone * 1000 / cold_ms:.1f} (target: at most 1/10)")
        for connections in (1, 16):
            feed, hello, bare = (rate[n, connections] for n in ("304", "hello", "bare304"))
            print(
                f"Feed 304 rate / hello rate, {connections} connection(s): {feed / hello:.2f} "
                f"(target: at least 0.5); / bare 304 rate: {feed / bare:.2f}"
            )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if drop is not None:
            drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
